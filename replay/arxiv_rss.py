"""The replayed RSS 2.0 feed (rss.arxiv.org/rss/<cat>+<cat>), as rss_specifications.md shows.

Items are the entries in any requested category. `announce_type` comes from the entry when
given, else new / cross for v1 and replace / replace-cross for later versions (cross when the
primary category was not requested). Without a `day` the feed is empty, as on weekends.
"""

from __future__ import annotations

from datetime import date, datetime, time
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

Entry = dict[str, Any]
EASTERN = ZoneInfo("America/New_York")

HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" \
xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" \
version="2.0">
  <channel>
    <title>{cats} updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/{cats}</link>
    <description>{cats} updates on the arXiv.org e-print archive.</description>
    <atom:link href="http://rss.arxiv.org/rss/{cats}" rel="self" type="application/rss+xml"/>
    <docs>http://www.rssboard.org/rss-specification</docs>
    <language>en-us</language>
    <lastBuildDate>{built}</lastBuildDate>
    <managingEditor>rss-help@arxiv.org</managingEditor>
{pub}    <skipDays>
      <day>Saturday</day>
      <day>Sunday</day>
    </skipDays>
"""


def announce_type(entry: Entry, requested: set[str]) -> str:
    """Return the entry's announce type for a feed of `requested` categories."""
    if entry.get("announce_type"):
        return entry["announce_type"]
    kind = "new" if entry["version"] == 1 else "replace"
    if entry["primary_category"].lower() in requested:
        return kind
    return "cross" if kind == "new" else "replace-cross"


def item_xml(entry: Entry, kind: str, pub: str) -> str:
    """Render one entry as an RSS item."""
    key = f"{entry['arxiv_id']}v{entry['version']}"
    lines = [
        "    <item>",
        f"      <title>{escape(entry['title'])}</title>",
        f"      <link>https://arxiv.org/abs/{entry['arxiv_id']}</link>",
        f"      <description>arXiv:{key} Announce Type: {kind} \nAbstract: "
        f"{escape(entry['abstract'])}</description>",
        f'      <guid isPermaLink="false">oai:arXiv.org:{key}</guid>',
        *(f"      <category>{escape(c)}</category>" for c in entry["categories"]),
        f"      <pubDate>{pub}</pubDate>",
        f"      <arxiv:announce_type>{kind}</arxiv:announce_type>",
        f"      <dc:rights>{escape(entry.get('licence', ''))}</dc:rights>",
        f"      <dc:creator>{escape(', '.join(entry['authors']))}</dc:creator>",
        "    </item>",
    ]
    return "\n".join(lines) + "\n"


def rss_feed(entries: list[Entry], cats: str, day: date | None) -> bytes:
    """Return the feed for `cats` (joined by +) as built at midnight ET starting `day`."""
    requested = {c.lower() for c in cats.split("+") if c}
    midnight = datetime.combine(day or date.today(), time(0), tzinfo=EASTERN)
    pub = format_datetime(midnight)
    built = format_datetime(midnight.astimezone(ZoneInfo("UTC")).replace(second=11))
    head = HEAD.format(
        cats=escape(cats), built=built, pub=f"    <pubDate>{pub}</pubDate>\n" if day else ""
    )
    items = []
    if day is not None:
        for entry in entries:
            if requested & {c.lower() for c in entry["categories"]}:
                items.append(item_xml(entry, announce_type(entry, requested), pub))
    return (head + "".join(items) + "  </channel>\n</rss>\n").encode()
