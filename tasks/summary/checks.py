"""Checks on an LLM's summary: placeholders, chat, links, copied abstract, wrong language.

The reference post shows what slips through unchecked: "论文链接地址", "xxx（问题的意义）",
"希望以上概括符合您的要求", links the model made up and 3,000-character rambles.
"""

from __future__ import annotations

import difflib
import re

from tasks.domain import Paper
from tasks.summary.schema import PaperSummary
from tasks.summary.sentences import split_sentences

PLACEHOLDERS = (
    "N/A",
    "TBD",
    "TODO",
    "xxx",
    "lorem ipsum",
    "(if available)",
    "not provided in the",
    "Hope this helps",
    "I hope this",
    "As an AI",
    "As a language model",
    "I cannot access",
    "I can't access",
    "Here is a summary",
    "Here is the summary",
    "Let me know if",
    "论文链接地址",
    "链接地址",
    "未提供",
    "需要查看",
    "待补充",
    "点击这里",
    "希望以上",
    "希望这个回答",
    "符合您的要求",
    "您",
    "请注意，以上",
    "以上内容是基于",
    "我无法",
    "（如果有）",
)
_URL = re.compile(r"https?://|www\.\w", re.IGNORECASE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
COPY_RATIO = 0.85  # difflib ratio at which a sentence counts as copied from the abstract
MAX_FIELD_CHARS = 1500  # longer is a runaway answer (the reference has a 3,000-char ramble)


def check_summary(summary: PaperSummary, paper: Paper, language: str) -> list[str]:
    """Return what is wrong with an LLM summary (empty when it is acceptable)."""
    fields = _text_fields(summary)
    problems = [problem for name, text in fields for problem in _problems(name, text, paper)]
    if len({_norm(item) for item in summary.takeaways}) < len(summary.takeaways):
        problems.append("takeaways repeat each other")
    return problems + _language_problems(fields, language)


def _problems(name: str, text: str, paper: Paper) -> list[str]:
    """Return what is wrong with one text field."""
    problems = []
    if not text.strip():
        problems.append(f"{name} is empty")
    if len(text) > MAX_FIELD_CHARS:
        problems.append(f"{name} is too long ({len(text)} chars)")
    if marker := _placeholder(text):
        problems.append(f"{name} contains placeholder or chat text {marker!r}")
    if _URL.search(text):
        problems.append(f"{name} contains a URL (links come from metadata)")
    if name.startswith(("one_line", "takeaways")) and _copies(text, paper.abstract):
        problems.append(f"{name} copies the abstract instead of summarizing it")
    return problems


def _text_fields(summary: PaperSummary) -> list[tuple[str, str]]:
    """Return (name, text) for every string in the summary, list items included."""
    data = summary.model_dump()
    analysis = data.pop("analysis")
    named = list(data.items()) + [(f"analysis.{key}", value) for key, value in analysis.items()]
    fields = []
    for name, value in named:
        if isinstance(value, list):
            fields += [(f"{name}[{index}]", item) for index, item in enumerate(value)]
        else:
            fields.append((name, value))
    return fields


def _pattern(marker: str) -> re.Pattern[str]:
    # Word boundaries around ASCII words, so "TODO" does not match inside "Mastodon".
    start = r"\b" if marker[0].isascii() and marker[0].isalnum() else ""
    end = r"\b" if marker[-1].isascii() and marker[-1].isalnum() else ""
    return re.compile(start + re.escape(marker) + end, re.IGNORECASE)


_MARKERS = [(marker, _pattern(marker)) for marker in PLACEHOLDERS]


def _placeholder(text: str) -> str:
    return next((marker for marker, pattern in _MARKERS if pattern.search(text)), "")


def _copies(text: str, abstract: str) -> bool:
    """Return True when `text` is (nearly) a sentence or passage of `abstract`."""
    norm = _norm(text)
    if len(norm) < 30:
        return False
    sentences = [_norm(sentence) for sentence in split_sentences(abstract)]
    ratios = (difflib.SequenceMatcher(None, norm, sentence).ratio() for sentence in sentences)
    return norm in _norm(abstract) or max(ratios, default=0.0) >= COPY_RATIO


def _language_problems(fields: list[tuple[str, str]], language: str) -> list[str]:
    """Return problems for prose not in `language`; technical terms may stay in English."""
    joined: dict[str, str] = {}
    for name, text in fields:
        if "keywords" not in name:
            key = name.split("[")[0]
            joined[key] = joined.get(key, "") + " " + text
    if language == "zh":
        wrong = [name for name, text in joined.items() if not _mostly_cjk(text)]
        return [f"{name} is not in Chinese" for name in wrong]
    return [f"{name} is not in English" for name, text in joined.items() if _has_cjk_prose(text)]


def _mostly_cjk(text: str) -> bool:
    # A Chinese character carries about a word, a Latin letter a fraction of one, so weigh
    # letters by 1/3: "使用DiT和SDXL" passes, an English sentence with one Chinese term does not.
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return cjk > 0 and cjk >= latin / 3


def _has_cjk_prose(text: str) -> bool:
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    return cjk > max(latin / 10, 2)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())
