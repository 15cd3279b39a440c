"""Paper metadata from the arXiv API: a day's batch, or papers by id.

The `arxiv` package builds queries, pages and parses Atom; its HTTP behaviour is replaced
by `ApiSession`, because it retries 400s, ignores Retry-After, reads a non-XML 200 ("Rate
exceeded.") as "no results" and sets no timeout. Retries happen once, in Prefect, on
`is_transient` errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import arxiv
import requests

from tasks.arxiv_http import PoliteSession, user_agent, xml_root
from tasks.errors import FetchError, TransientError
from tasks.limiter import Limiter, get_limiter
from tasks.types import Paper

if TYPE_CHECKING:
    from config.settings import Settings

PAGE_SIZE = 2000  # the API's largest page
ID_BATCH = 100
ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_VERSIONED = re.compile(r"^(?P<id>.+?)v(?P<version>\d+)$")


class ApiSession(PoliteSession):
    """A PoliteSession that also insists each answer is a usable Atom page of results."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):  # type: ignore[override]
        """Send one API request; raise unless the answer is an Atom page of results."""
        response = super().request(method, url, *args, **kwargs)
        check_feed(response)
        return response


def check_feed(response: requests.Response) -> None:
    """Raise FetchError for arXiv's error feeds, TransientError for throttled or empty pages."""
    root = xml_root(response.content)
    if response.status_code != 200:
        reason = (_error_message(root) if root is not None else None) or _snippet(response)
        raise FetchError(
            f"arXiv API refused the query (HTTP {response.status_code}): {reason} ({response.url})"
        )
    if root is None or root.tag != f"{ATOM}feed":
        raise TransientError(
            f"arXiv API answered 200 without an Atom feed: {_snippet(response)} ({response.url})"
        )
    error = _error_message(root)
    if error:
        raise FetchError(f"arXiv API refused the query: {error} ({response.url})")
    total = _int(root.findtext(f"{OPENSEARCH}totalResults"))
    start = _int(root.findtext(f"{OPENSEARCH}startIndex"))
    if root.find(f"{ATOM}entry") is None and start < total:
        raise TransientError(
            f"arXiv API returned an empty page at {start} of {total} results ({response.url})"
        )


def _error_message(root: Any) -> str | None:
    for entry in root.iterfind(f"{ATOM}entry"):
        if "/api/errors" in (entry.findtext(f"{ATOM}id") or ""):
            return normalise(entry.findtext(f"{ATOM}summary") or "unspecified error")
    return None


def _snippet(response: requests.Response) -> str:
    return repr(normalise(response.content[:120].decode("utf-8", "replace")))


def _int(text: str | None) -> int:
    try:
        return int((text or "0").strip())
    except ValueError:
        return 0


def normalise(text: str) -> str:
    """Return `text` with arXiv's line wrapping and runs of spaces collapsed."""
    return " ".join(text.split())


def split_id(short_id: str) -> tuple[str, int]:
    """Split `2410.03665v2` into (`2410.03665`, 2); old-style ids keep their slash."""
    match = _VERSIONED.match(short_id)
    if match is None:
        raise FetchError(f"arXiv entry id {short_id!r} carries no version")
    return match["id"], int(match["version"])


def paper_from_result(result: arxiv.Result, announce_type: str = "new") -> Paper:
    """Convert one parsed API entry into a Paper."""
    arxiv_id, paper_version = split_id(result.get_short_id())
    return Paper(
        arxiv_id=arxiv_id,
        version=paper_version,
        title=normalise(result.title),
        authors=tuple(normalise(author.name) for author in result.authors),
        abstract=normalise(result.summary),
        published=result.published.astimezone(UTC),
        updated=result.updated.astimezone(UTC),
        categories=tuple(result.categories),
        primary_category=result.primary_category,
        comment=normalise(result.comment or ""),
        announce_type=announce_type,
    )


def category_query(categories: list[str]) -> str:
    """Return the `(cat:A OR cat:B)` clause for `categories`."""
    if not categories:
        raise ValueError("at least one arXiv category is needed")
    return "(" + " OR ".join(f"cat:{category}" for category in categories) + ")"


def gmt_minute(moment: datetime) -> str:
    """Return `moment` in the API's date-range format, YYYYMMDDHHMM in GMT."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M")


class ArxivSource:
    """The arXiv API as the pipeline uses it, paced by the process's shared limiter."""

    def __init__(
        self,
        api_url: str,
        min_interval: float,
        timeout: float,
        user_agent: str,
        limiter: Limiter | None = None,
    ):
        self.api_url = api_url
        # The process-wide limiter unless a test brings its own.
        pace = limiter or get_limiter(min_interval)
        self.session = ApiSession(pace, timeout, user_agent)

    @classmethod
    def from_settings(cls, settings: Settings) -> ArxivSource:
        """Build the source the settings describe."""
        return cls(
            settings.arxiv_api_url,
            settings.arxiv_min_interval,
            settings.arxiv_timeout,
            user_agent(settings.contact),
        )

    def results(self, search: arxiv.Search, page_size: int = 100) -> Iterator[arxiv.Result]:
        """Yield the parsed entries of `search`, one polite request per page."""
        client = arxiv.Client(page_size=page_size, delay_seconds=0, num_retries=0)
        client.query_url_format = self.api_url + "?{}"
        client._session = self.session
        try:
            yield from client.results(search)
        except arxiv.UnexpectedEmptyPageError as exc:
            raise TransientError(f"arXiv API returned an empty page: {exc.url}") from exc

    def day_papers(self, categories: list[str], start: datetime, end: datetime) -> list[Paper]:
        """Return new submissions in [start, end) and the replacements announced with them."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("day_papers needs tz-aware start and end (see tasks.calendar)")
        scope = category_query(categories)
        new = self._submitted(scope, set(categories), start, end)
        replaced = self._replaced(scope, set(categories), start, end)
        unique: dict[str, Paper] = {}
        for paper in new + replaced:
            unique.setdefault(paper.arxiv_id, paper)
        return list(unique.values())

    def by_ids(self, ids: list[str]) -> list[Paper]:
        """Return the papers with these ids (with or without version), in batches of 100."""
        papers: list[Paper] = []
        for first in range(0, len(ids), ID_BATCH):
            batch = ids[first : first + ID_BATCH]
            search = arxiv.Search(id_list=batch, max_results=len(batch))
            papers += [paper_from_result(result) for result in self.results(search, len(batch))]
        return papers

    def _submitted(
        self, scope: str, categories: set[str], start: datetime, end: datetime
    ) -> list[Paper]:
        search = arxiv.Search(
            query=f"{scope} AND submittedDate:[{gmt_minute(start)} TO {gmt_minute(end)}]",
            max_results=None,
            sort_by=arxiv.SortCriterion.SubmittedDate,
            sort_order=arxiv.SortOrder.Ascending,
        )
        papers = []
        # The API's range is whole minutes, both ends included: keep the half-open window.
        for result in self.results(search, PAGE_SIZE):
            if start <= result.published < end:
                kind = "new" if result.primary_category in categories else "cross"
                papers.append(as_announced(paper_from_result(result, kind), end))
        return papers

    def _replaced(
        self, scope: str, categories: set[str], start: datetime, end: datetime
    ) -> list[Paper]:
        search = arxiv.Search(
            query=scope,
            max_results=None,
            sort_by=arxiv.SortCriterion.LastUpdatedDate,
            sort_order=arxiv.SortOrder.Descending,
        )
        papers = []
        for result in self.results(search, PAGE_SIZE):
            if result.updated < start:
                break
            if result.updated < end and result.published < start:
                kind = "replace" if result.primary_category in categories else "replace-cross"
                paper = paper_from_result(result, kind)
                if paper.version > 1:
                    papers.append(paper)
        return papers


def as_announced(paper: Paper, end: datetime) -> Paper:
    """Return the version of a new submission that its batch announced.

    The API describes a paper's latest version; one revised after the window closed was
    announced in this batch as v1 (its title and abstract stay the latest ones).
    """
    if paper.updated < end:
        return paper
    return replace(paper, version=1, updated=paper.published)
