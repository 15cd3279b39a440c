"""Today's batch from arXiv's RSS feed, completed with full metadata from the API.

The feed (rss_specifications.md) is rebuilt at midnight ET and holds exactly the latest
announcement: new submissions, cross-lists and replacements with their announce type and
licence (`dc:rights`), which the API lacks. Its channel pubDate is the batch's label.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from tasks.domain import Paper
from tasks.errors import FetchError, TransientError
from tasks.source.api import ArxivSource, normalise, split_id
from tasks.source.client import PoliteSession, xml_root
from tasks.source.schedule import EASTERN

ARXIV_NS = "{http://arxiv.org/schemas/atom}"
DC_NS = "{http://purl.org/dc/elements/1.1/}"
GUID_PREFIX = "oai:arXiv.org:"
FEED_CAP = 2000  # a feed lists at most this many items: a full one may have lost some
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RssItem:
    """One announced paper version as the feed lists it."""

    arxiv_id: str
    version: int
    announce_type: str
    licence: str
    title: str
    authors: tuple[str, ...]
    abstract: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class RssFeed:
    """A parsed feed: the label of its batch (None if it names no date) and its items."""

    label: date | None
    published: datetime | None
    items: tuple[RssItem, ...]


def feed_url(rss_url: str, categories: list[str]) -> str:
    """Return the feed URL for `categories` joined by `+` (one feed, at most 2000 items)."""
    if not categories:
        raise ValueError("at least one arXiv category is needed")
    return rss_url.rstrip("/") + "/" + "+".join(categories)


def fetch_rss(session: PoliteSession, rss_url: str, categories: list[str]) -> bytes:
    """Return the feed document for `categories`; raise unless it is an RSS document."""
    url = feed_url(rss_url, categories)
    response = session.get(url)
    snippet = repr(normalise(response.content[:120].decode("utf-8", "replace")))
    if response.status_code != 200:
        raise FetchError(f"arXiv RSS answered HTTP {response.status_code}: {snippet} ({url})")
    if _root(response.content) is None:
        raise TransientError(f"arXiv RSS answered 200 without an RSS feed: {snippet} ({url})")
    return response.content


def parse_rss(content: bytes) -> RssFeed:
    """Parse arXiv's RSS 2.0 feed into its label and items."""
    root = _root(content)
    channel = None if root is None else root.find("channel")
    if channel is None:
        raise FetchError("arXiv RSS document has no <channel>")
    published = _when(channel.findtext("pubDate")) or _when(channel.findtext("lastBuildDate"))
    label = published.astimezone(EASTERN).date() if published else None
    items = []
    for element in channel.iterfind("item"):
        try:
            items.append(_item(element))
        except FetchError as exc:  # one malformed item never costs the rest of the batch
            log.warning("skipping an RSS item: %s", exc)
    return RssFeed(label, published, tuple(items))


def rss_papers(
    session: PoliteSession, source: ArxivSource, rss_url: str, categories: list[str]
) -> tuple[date | None, list[Paper]]:
    """Return the label of the batch in the feed and its papers with full API metadata.

    The caller compares the label with the day it wants: before midnight ET the feed still
    holds the previous batch, and on weekends and holidays it is empty. A feed at arXiv's
    item cap may be cut short, so it names no label and the caller rebuilds the batch from
    the API instead.
    """
    feed = parse_rss(fetch_rss(session, rss_url, categories))
    if len(feed.items) >= FEED_CAP:
        log.warning(
            "the RSS feed for %s holds %d items, arXiv's cap, and may be incomplete; "
            "the batch is rebuilt from the API",
            "+".join(categories),
            len(feed.items),
        )
        return None, []
    return feed.label, complete(source, feed)


def complete(source: ArxivSource, feed: RssFeed) -> list[Paper]:
    """Return the feed's papers with API metadata, in `id_list` batches, feed order kept.

    Announce type and licence come from the feed. A version the API does not list yet is
    built from the feed alone, dated with the feed's pubDate.
    """
    unique = list({item.arxiv_id: item for item in feed.items}.values())
    keys = [f"{item.arxiv_id}v{item.version}" for item in unique]
    by_key = {paper.key: paper for paper in source.by_ids(keys)} if keys else {}
    papers = []
    for key, item in zip(keys, unique, strict=True):
        found = by_key.get(key) or _from_feed(item, feed.published)
        papers.append(
            replace(found, announce_type=item.announce_type, licence=item.licence, source="rss")
        )
    return papers


def _item(item: Any) -> RssItem:
    guid = (item.findtext("guid") or "").strip()
    description = item.findtext("description") or ""
    arxiv_id, version = split_id(guid.removeprefix(GUID_PREFIX) or _described_id(description))
    _, _, abstract = description.partition("Abstract:")
    creators = normalise(item.findtext(f"{DC_NS}creator") or "")
    return RssItem(
        arxiv_id=arxiv_id,
        version=version,
        announce_type=(item.findtext(f"{ARXIV_NS}announce_type") or "new").strip(),
        licence=(item.findtext(f"{DC_NS}rights") or "").strip(),
        title=normalise(item.findtext("title") or ""),
        authors=tuple(name for name in creators.split(", ") if name),
        abstract=normalise(abstract),
        categories=tuple(normalise(c.text or "") for c in item.iterfind("category")),
    )


def _described_id(description: str) -> str:
    # "arXiv:2203.01250v3 Announce Type: ..." when an item has no guid.
    first = description.split()[0] if description.split() else ""
    if not first.startswith("arXiv:"):
        raise FetchError(f"arXiv RSS item names no paper: {description[:80]!r}")
    return first.removeprefix("arXiv:")


def _from_feed(item: RssItem, published: datetime | None) -> Paper:
    if published is None:
        raise FetchError(
            f"{item.arxiv_id}v{item.version} is not in the API and the feed has no date"
        )
    return Paper(
        arxiv_id=item.arxiv_id,
        version=item.version,
        title=item.title,
        authors=item.authors,
        abstract=item.abstract,
        published=published,
        updated=published,
        categories=item.categories,
        primary_category=item.categories[0] if item.categories else "",
    )


def _when(text: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        return parsedate_to_datetime(text.strip())
    except (TypeError, ValueError) as exc:
        raise FetchError(f"arXiv RSS date {text!r} is not an RFC 822 date") from exc


def _root(content: bytes) -> Any:
    root = xml_root(content)
    return root if root is not None and root.tag == "rss" else None
