"""Paper metadata from the arXiv API: a day's batch, or papers by id.

The `arxiv` package builds queries, pages and parses Atom; its HTTP behaviour is replaced
by `ApiSession`, because it retries 400s, ignores Retry-After, reads a non-XML 200 ("Rate
exceeded.") as "no results" and sets no timeout. Retries happen once, in Prefect, on
`is_transient` errors.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import arxiv
import requests

from tasks.domain import Paper, is_arxiv_id
from tasks.errors import FetchError, TransientError
from tasks.source.client import PoliteSession, xml_root
from tasks.source.limiter import Limiter, get_limiter

PAGE_SIZE = 2000  # the API's largest page
ID_BATCH = 100
ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_VERSIONED = re.compile(r"^(?P<id>.+?)v(?P<version>\d+)$")
log = logging.getLogger(__name__)


class ApiSession(PoliteSession):
    """A PoliteSession that also insists each answer is a usable Atom page of results."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):
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
    if not is_arxiv_id(match["id"]):
        raise FetchError(f"arXiv entry id {short_id!r} is not an arXiv identifier")
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
        return self.range_papers(categories, {None: (start, end)})[None]

    def range_papers(
        self, categories: list[str], windows: Mapping[date | None, tuple[datetime, datetime]]
    ) -> dict[date | None, list[Paper]]:
        """Return each batch label's papers, with one paged query for all the windows.

        Submissions come from one `submittedDate` range over every window; replacements from
        one pass down `lastUpdatedDate` to the earliest window's start. Each paper goes to the
        window that holds its submission (new) or its latest version (replacement).
        """
        if any(s.tzinfo is None or e.tzinfo is None for s, e in windows.values()):
            raise ValueError("range_papers needs tz-aware windows (see tasks.source.schedule)")
        if not windows:
            return {}
        spans = sorted((start, end, label) for label, (start, end) in windows.items())
        starts = [start for start, _, _ in spans]

        def window_of(moment: datetime) -> tuple[datetime, datetime, date | None] | None:
            at = bisect.bisect_right(starts, moment) - 1
            return spans[at] if at >= 0 and moment < spans[at][1] else None

        scope, wanted = category_query(categories), set(categories)
        found: dict[date | None, dict[str, Paper]] = {label: {} for label in windows}
        for result in self._submitted(scope, spans[0][0], max(end for _, end, _ in spans)):
            span = window_of(result.published)
            kind = "new" if result.primary_category in wanted else "cross"
            paper = span and _paper(result, kind)
            if span and paper:
                found[span[2]].setdefault(paper.arxiv_id, as_announced(paper, span[1]))
        for result in self._replaced(scope, spans[0][0]):
            span = window_of(result.updated)
            if span is None or result.published >= span[0]:
                continue
            kind = "replace" if result.primary_category in wanted else "replace-cross"
            paper = _paper(result, kind)
            if paper and paper.version > 1:
                found[span[2]].setdefault(paper.arxiv_id, paper)
        return {label: list(papers.values()) for label, papers in found.items()}

    def by_ids(self, ids: list[str]) -> list[Paper]:
        """Return the papers with these ids (with or without version), in batches of 100."""
        papers: list[Paper] = []
        for first in range(0, len(ids), ID_BATCH):
            batch = ids[first : first + ID_BATCH]
            search = arxiv.Search(id_list=batch, max_results=len(batch))
            found = (_paper(result) for result in self.results(search, len(batch)))
            papers += [paper for paper in found if paper]
        return papers

    def _submitted(self, scope: str, start: datetime, end: datetime) -> Iterator[arxiv.Result]:
        search = arxiv.Search(
            query=f"{scope} AND submittedDate:[{gmt_minute(start)} TO {gmt_minute(end)}]",
            max_results=None,
            sort_by=arxiv.SortCriterion.SubmittedDate,
            sort_order=arxiv.SortOrder.Ascending,
        )
        # The API's range is whole minutes, both ends included: the caller keeps [start, end).
        yield from self.results(search, PAGE_SIZE)

    def _replaced(self, scope: str, since: datetime) -> Iterator[arxiv.Result]:
        search = arxiv.Search(
            query=scope,
            max_results=None,
            sort_by=arxiv.SortCriterion.LastUpdatedDate,
            sort_order=arxiv.SortOrder.Descending,
        )
        for result in self.results(search, PAGE_SIZE):
            if result.updated < since:
                return
            yield result


def _paper(result: arxiv.Result, announce_type: str = "new") -> Paper | None:
    """Return the entry as a Paper, or None (logged) when its id is not an arXiv id."""
    try:
        return paper_from_result(result, announce_type)
    except FetchError as exc:
        log.warning("skipping an API entry: %s", exc)
        return None


def as_announced(paper: Paper, end: datetime) -> Paper:
    """Return the version of a new submission that its batch announced.

    The API describes a paper's latest version; one revised after the window closed was
    announced in this batch as v1 (its title and abstract stay the latest ones).
    """
    if paper.updated < end:
        return paper
    return replace(paper, version=1, updated=paper.published)
