"""Outside text made inert for a post: plain text to Markdown, HTML attributes and links.

Hexo runs Nunjucks over post bodies and Jekyll runs Liquid, so braces never reach them either.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~()!#])")
_LINE_START = re.compile(r"^(\s*)([=+-]|\d+(?=[.)]))")
# A web address inside text: ASCII URL characters only, so braces, quotes and "<" end it.
_URL_IN_TEXT = re.compile(r"(?:https?|ftp)://[A-Za-z0-9][A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*")
_URL_TAIL = ".,:;!?*_~'\""
_MARKUP_CHARS = re.compile(r"[<>{}]")
_URL = re.compile(r"^https?://[^\s<>\"'{}|\\^`]+$")


def inline(text: str) -> str:
    """Return `text` as one inert line of Markdown: no HTML, no template tags, no markup.

    Web addresses become autolinks (`<https://...>`): marked links bare addresses itself, and
    an escape inside one would end up in its link.
    """
    text = " ".join(str(text).split())
    parts, start = [], 0
    for match in _URL_IN_TEXT.finditer(text):
        link = _trim_url(match.group())
        parts += [_inert(text[start : match.start()]), f"<{link}>"]
        start = match.start() + len(link)
    parts.append(_inert(text[start:]))
    return _LINE_START.sub(_escape_line_start, "".join(parts))


def _inert(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    # "---" turns into a dash (smartypants) or a rule, "www." into a link: escape them.
    text = re.sub(r"-{2,}", lambda m: "\\-" * len(m.group()), text).replace("www.", "www\\.")
    # Hexo runs Nunjucks over the body: braces must never reach it as braces.
    return text.replace("{", "&#123;").replace("}", "&#125;")


def _trim_url(link: str) -> str:
    """Drop the punctuation that ends a sentence rather than the address, as GFM does."""
    while link and (
        link[-1] in _URL_TAIL or (link[-1] == ")" and link.count(")") > link.count("("))
    ):
        link = link[:-1]
    return link


def _escape_line_start(match: re.Match[str]) -> str:
    lead, mark = match.groups()
    # "1." starts a list: escape the dot, not the digit.
    return lead + (mark + "\\" if mark[0].isdigit() else "\\" + mark)


def attr(text: str) -> str:
    """Return `text` safe inside a double-quoted HTML attribute."""
    text = html.escape(" ".join(str(text).split()), quote=True)
    return text.replace("{", "&#123;").replace("}", "&#125;")


def url(link: str) -> str:
    """Return a link safe for Markdown `(...)`, or an empty string if it is not http(s)."""
    link = link.strip()
    if not _URL.match(link):
        return ""
    return quote(link, safe=":/?=&#%.-_~+,;@!$*").replace("(", "%28").replace(")", "%29")


def plain(text: str) -> str:
    """Return `text` on one line without the characters themes could take for markup."""
    return " ".join(_MARKUP_CHARS.sub(" ", text).split())
