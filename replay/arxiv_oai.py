"""The replayed arXiv's OAI-PMH endpoint: ListRecords and GetRecord in the `arXiv` format.

A record's datestamp is the entry's `datestamp` (YYYY-MM-DD) if given, else its `updated`
date; its licence is the entry's `licence` (no <license> element when empty). Errors come
as arXiv sends them: HTTP 200 with an OAI-PMH <error code="...">.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from typing import Any
from xml.sax.saxutils import escape, quoteattr

Entry = dict[str, Any]
GROUPS = {"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ \
http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>{now}</responseDate>
<request{attributes}>https://oaipmh.arxiv.org/oai</request>
"""
ARXIV_HEAD = (
    '<arXiv xmlns="http://arxiv.org/OAI/arXiv/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">'
)


class OaiError(Exception):
    """An OAI-PMH error to answer with."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)
        self.code, self.message = code, message


def set_specs(category: str) -> list[str]:
    """Return the sets a category belongs to: cs.CV → cs, cs:cs, cs:cs:CV."""
    archive, _, subject = category.partition(".")
    group = archive if archive in GROUPS else "physics"
    specs = [group, f"{group}:{archive}"]
    return [*specs, f"{group}:{archive}:{subject}"] if subject else specs


def datestamp(entry: Entry) -> str:
    return entry.get("datestamp") or entry["updated"][:10]


def record_xml(entry: Entry) -> str:
    """Render one entry as an OAI-PMH record in arXiv's metadata format."""
    sets = sorted({s for c in entry["categories"] for s in set_specs(c)[-1:]})
    authors = "".join(_author(name) for name in entry["authors"])
    licence = f"<license>{escape(entry['licence'])}</license>" if entry.get("licence") else ""
    comment = f"<comments>{escape(entry['comment'])}</comments>" if entry.get("comment") else ""
    return (
        f"<record><header><identifier>oai:arXiv.org:{entry['arxiv_id']}</identifier>"
        f"<datestamp>{datestamp(entry)}</datestamp>"
        + "".join(f"<setSpec>{s}</setSpec>" for s in sets)
        + f"</header><metadata>{ARXIV_HEAD}<id>{entry['arxiv_id']}</id>"
        f"<created>{entry['published'][:10]}</created><updated>{entry['updated'][:10]}</updated>"
        f"<authors>{authors}</authors><title>{escape(entry['title'])}</title>"
        f"<categories>{' '.join(entry['categories'])}</categories>{comment}{licence}"
        f"<abstract>{escape(entry['abstract'])}</abstract></arXiv></metadata></record>"
    )


def _author(name: str) -> str:
    forenames, _, keyname = name.rpartition(" ")
    return (
        f"<author><keyname>{escape(keyname)}</keyname>"
        f"<forenames>{escape(forenames)}</forenames></author>"
    )


class OaiRepository:
    """Answer OAI-PMH requests over `entries`, `page_size` records per ListRecords page."""

    def __init__(self, entries: list[Entry], page_size: int = 100):
        self.entries = entries
        self.page_size = page_size
        self._tokens: dict[str, tuple[list[Entry], int]] = {}
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def answer(self, params: dict[str, str]) -> bytes:
        """Return the OAI-PMH document answering `params`."""
        verb = params.get("verb", "")
        try:
            if verb == "ListRecords":
                body = self._list(params)
            elif verb == "GetRecord":
                body = self._get(params)
            else:
                raise OaiError("badVerb", f"Illegal verb {verb!r}")
        except OaiError as exc:
            body = f'<error code="{exc.code}">{escape(exc.message)}</error>\n'
        attributes = "".join(f" {k}={quoteattr(v)}" for k, v in sorted(params.items()))
        head = HEAD.format(now=time.strftime("%Y-%m-%dT%H:%M:%SZ"), attributes=attributes)
        return (head + body + "</OAI-PMH>\n").encode()

    def _list(self, params: dict[str, str]) -> str:
        if "resumptionToken" in params:
            if set(params) != {"verb", "resumptionToken"}:
                raise OaiError("badArgument", "resumptionToken is an exclusive argument")
            with self._lock:
                hits, offset = self._tokens.pop(params["resumptionToken"], (None, 0))
            if hits is None:
                raise OaiError("badResumptionToken", "Invalid or expired resumptionToken")
        else:
            hits, offset = self._select(params), 0
        page = hits[offset : offset + self.page_size]
        token = ""
        if offset + self.page_size < len(hits):
            token = f"fake-{next(self._counter)}"
            with self._lock:
                self._tokens[token] = (hits, offset + self.page_size)
        records = "\n".join(record_xml(e) for e in page)
        token_xml = f"<resumptionToken>{token}</resumptionToken>"
        return f"<ListRecords>\n{records}\n{token_xml}\n</ListRecords>\n"

    def _select(self, params: dict[str, str]) -> list[Entry]:
        self._check_prefix(params)
        low, high = params.get("from", "0000-00-00"), params.get("until", "9999-99-99")
        if not all(_DAY.match(d) for d in (low, high)) or low > high:
            raise OaiError("badArgument", f"Illegal date range from={low} until={high}")
        wanted = params.get("set")
        hits = [
            e
            for e in self.entries
            if low <= datestamp(e) <= high
            and (wanted is None or any(wanted in set_specs(c) for c in e["categories"]))
        ]
        if not hits:
            raise OaiError("noRecordsMatch", "No records match the request")
        return sorted(hits, key=lambda e: (datestamp(e), e["arxiv_id"]))

    def _get(self, params: dict[str, str]) -> str:
        self._check_prefix(params)
        arxiv_id = params.get("identifier", "").removeprefix("oai:arXiv.org:")
        for entry in self.entries:
            if entry["arxiv_id"] == arxiv_id:
                return f"<GetRecord>{record_xml(entry)}</GetRecord>\n"
        raise OaiError(
            "idDoesNotExist",
            f"{params.get('identifier')} has the structure of a valid"
            " identifier, but it maps to no known item",
        )

    @staticmethod
    def _check_prefix(params: dict[str, str]) -> None:
        prefix = params.get("metadataPrefix")
        if prefix is None:
            raise OaiError("badArgument", "metadataPrefix is required")
        if prefix != "arXiv":
            raise OaiError("cannotDisseminateFormat", f"Unknown metadata format {prefix!r}")
