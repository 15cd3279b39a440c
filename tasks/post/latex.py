"""LaTeX in titles, abstracts and summaries made readable; math stays for MathJax.

arXiv metadata is what authors typed: `na\\"ive`, `\\textit{...}`, `\\url{...}` beside plain
"5%" and "a~b" that are not LaTeX at all. So only text with a macro is converted (by pylatexenc,
the maintained LaTeX-to-text library), and math and web addresses are never touched.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

# $...$, $$...$$, \(...\), \[...\]: kept verbatim for MathJax.
_MATH = re.compile(r"\$\$.+?\$\$|\$.+?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.S)
_URL_MACRO = re.compile(r"\\(?:url|href)\{([^{}\s]+)\}(?:\{([^{}]*)\})?")
_WEB = re.compile(r"(?:https?|ftp)://\S+")
# A macro (\textit, \"o, \&) or TeX quotes: the only signs a piece of text is LaTeX.
_TEX = re.compile(r"\\[A-Za-z\"'`^~=.&%#_$]|``")
# Characters LaTeX treats specially that authors mostly mean literally (5%, R&D, #1).
_LITERAL = re.compile(r"(?<!\\)([%&#])")


@lru_cache(maxsize=1)
def _converter() -> LatexNodes2Text:
    context = get_default_latex_context_db()
    # Citations and references point into a paper the reader does not have: drop them.
    dropped = [MacroTextSpec(name, simplify_repl="") for name in ("cite", "citep", "citet", "ref")]
    context.add_context_category("digest", macros=dropped, prepend=True)
    return LatexNodes2Text(latex_context=context, math_mode="verbatim", strict_latex_spaces=True)


def readable(text: str) -> str:
    """Return `text` with its LaTeX outside math turned into plain Unicode text."""
    text = _URL_MACRO.sub(lambda m: m[1] if not m[2] else f"{m[2]} ({m[1]})", str(text))
    kept = _kept(text)
    # Math and addresses wait outside as placeholders pylatexenc passes through as letters,
    # so a macro around math (\emph{$x$}) is still converted whole.
    shielded, start = [], 0
    for n, match in enumerate(kept):
        shielded += [text[start : match.start()], _slot(n)]
        start = match.end()
    shielded.append(text[start:])
    prose = "".join(shielded)
    if not _TEX.search(prose):
        return text
    converted = _converter().latex_to_text(_LITERAL.sub(r"\\\1", prose)).replace("\xa0", " ")
    for n, match in enumerate(kept):
        converted = converted.replace(_slot(n), match.group(), 1)
    return converted


def _slot(n: int) -> str:
    return f"\ue000{n}\ue001"


def _kept(text: str) -> list[re.Match[str]]:
    """Return the math and web addresses of `text`, in order, none overlapping."""
    found = sorted([*_MATH.finditer(text), *_WEB.finditer(text)], key=lambda m: m.start())
    kept, end = [], 0
    for match in found:
        if match.start() >= end:
            kept.append(match)
            end = match.end()
    return kept
