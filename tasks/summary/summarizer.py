"""Summarize one paper: the prompt, and the LLM summarizer on any chat backend.

Plain Python; the flow wraps `Summarizer.summarize` in a Prefect task that owns retries, so
nothing here retries or sleeps: transient failures raise `TransientError` (with the server's
retry delay when there is one) and everything else raises `SummaryError`.
"""

from __future__ import annotations

from typing import Protocol

from tasks.domain import Extraction, Paper
from tasks.errors import ConfigError, SummaryError
from tasks.llm.chat import Chat, QuotaSettings, Reply, Transport, ask_json, tokens
from tasks.llm.gemini import GeminiTransport
from tasks.llm.openai_chat import OpenAITransport
from tasks.llm.prompting import (
    EMPTY_ANSWER,
    defuse,
    load_template,
    one_line,
    prompt_path,
    read_answer,
)
from tasks.llm.sampling import SamplingSettings
from tasks.summary.checks import check_summary
from tasks.summary.extractive import ExtractiveSummarizer, paper_sections
from tasks.summary.schema import PaperSummary, SummaryRecord

__all__ = [
    "PROMPT_VERSION",
    "ExtractiveSummarizer",
    "GeminiSummarizer",
    "LLMSummarizer",
    "OpenAISummarizer",
    "QuotaSettings",
    "Summarizer",
    "build_prompt",
    "check_summary",
]

PROMPT_PATH = prompt_path("summary")
# The paper's share of the prompt is counted in characters, at an estimated 4 characters per
# token of English prose (papers are read in English whatever the summary's language), so no
# token-counting request is spent per paper. `llm_input_tokens` sets it; 6000 ≈ 24k characters.
CHARS_PER_TOKEN = 4
DEFAULT_INPUT_TOKENS = 6000
PROMPT_CHAR_BUDGET = DEFAULT_INPUT_TOKENS * CHARS_PER_TOKEN
LANGUAGES = {"zh": "Simplified Chinese (简体中文)", "en": "English"}
GEMINI_KEY_MISSING = "GEMINI_API_KEY is not set; set it or use --llm extractive"
WAITS = "the paper waits for the next run"


class Summarizer(Protocol):
    """A backend that turns one paper into a validated summary record."""

    name: str
    model: str

    def summarize(
        self, paper: Paper, extraction: Extraction | None, language: str
    ) -> SummaryRecord: ...

    def recorded_as(self, language: str) -> tuple[str, str]:
        """Return the prompt version and language its summaries asked in `language` carry."""
        ...


PROMPT_VERSION = load_template("summary").version


def build_prompt(
    paper: Paper,
    extraction: Extraction | None,
    language: str,
    budget: int = PROMPT_CHAR_BUDGET,
) -> tuple[str, str]:
    """Return the (system, user) prompt for `paper`, its material cut to `budget` characters."""
    if language not in LANGUAGES:
        raise ConfigError(
            f"unsupported summary language {language!r}; use one of {list(LANGUAGES)}"
        )
    material = paper_material(paper, extraction, budget)
    values = {"language_name": LANGUAGES[language], "paper": material}
    return load_template("summary").fill(values)


def paper_material(
    paper: Paper, extraction: Extraction | None, budget: int = PROMPT_CHAR_BUDGET
) -> str:
    """Return the paper's text for the prompt: metadata and abstract whole, sections cut."""
    lines = [f"Title: {one_line(paper.title)}", f"arXiv: {paper.key}"]
    if paper.categories:
        lines.append(f"Categories: {', '.join(paper.categories)}")
    if extraction and extraction.affiliation:
        lines.append(f"First-author affiliation: {one_line(extraction.affiliation)}")
    head = "\n".join(lines) + f"\n\nAbstract:\n{paper.abstract.strip()}"
    found = paper_sections(extraction)
    bodies = _allot([one_line(text) for text in found.values()], budget - len(head))
    blocks = [f"{role}:\n{body}" for role, body in zip(found, bodies, strict=True) if body]
    return defuse("\n\n".join([head, *blocks]))


def _allot(texts: list[str], budget: int) -> list[str]:
    """Cut `texts` to share `budget`: short ones stay whole, long ones get equal shares."""
    cut = list(texts)
    left = max(budget, 0)
    for rank, index in enumerate(sorted(range(len(texts)), key=lambda i: len(texts[i]))):
        cut[index] = _clip(texts[index], left // (len(texts) - rank))
        left -= len(cut[index])
    return cut


def _clip(text: str, limit: int) -> str:
    """Return `text` cut at a word boundary to at most `limit` characters."""
    if len(text) <= limit:
        return text
    if limit < 200:  # a scrap of a section tells the model nothing
        return ""
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


class LLMSummarizer:
    """Summarize with an LLM through a chat backend: one call per paper, one repair at most."""

    def __init__(self, chat: Chat, input_tokens: int = DEFAULT_INPUT_TOKENS):
        self._chat = chat
        self.name = chat.transport.name
        self.model = chat.models[0]
        self.budget = input_tokens * CHARS_PER_TOKEN

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"

    def recorded_as(self, language: str) -> tuple[str, str]:
        """Return the prompt version and language its summaries asked in `language` carry."""
        return PROMPT_VERSION, language

    def summarize(
        self, paper: Paper, extraction: Extraction | None, language: str
    ) -> SummaryRecord:
        """Return the validated summary of `paper` in `language`."""
        prompt = build_prompt(paper, extraction, language, self.budget)
        summary, replies = ask_json(
            self._chat,
            paper.key,
            prompt,
            PaperSummary,
            lambda reply: _parse(reply, paper, language),
            "summary",
            temperature=0.2,
        )
        prompt_tokens, output_tokens = tokens(replies)
        answered = replies[-1].answered_by
        return SummaryRecord(
            arxiv_id=paper.arxiv_id,
            version=paper.version,
            backend=self.name,
            model=replies[-1].model,
            served_model="" if answered == replies[-1].model else answered,
            calls=len(replies),
            prompt_version=PROMPT_VERSION,
            language=language,
            summary=summary,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
            cost_usd=self._chat.cost(replies),
        )


def _summary_chat(
    transport: Transport,
    model: str,
    fallback_model: str,
    quota: QuotaSettings | None,
    sampling: SamplingSettings | None,
) -> Chat:
    models = [model, fallback_model]
    return Chat(transport, models, quota or QuotaSettings(), SummaryError, WAITS, sampling)


class GeminiSummarizer(LLMSummarizer):
    """Summarize with Gemini through google-genai."""

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str = "",
        timeout: float = 120.0,
        fallback_model: str = "",
        quota: QuotaSettings | None = None,
        input_tokens: int = DEFAULT_INPUT_TOKENS,
        sampling: SamplingSettings | None = None,
    ):
        if not api_key:
            raise ConfigError(GEMINI_KEY_MISSING)
        transport = GeminiTransport(api_key, base_url, timeout)
        chat = _summary_chat(transport, model, fallback_model, quota, sampling)
        super().__init__(chat, input_tokens)


class OpenAISummarizer(LLMSummarizer):
    """Summarize through any OpenAI-compatible chat-completions endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 120.0,
        fallback_model: str = "",
        quota: QuotaSettings | None = None,
        input_tokens: int = DEFAULT_INPUT_TOKENS,
        sampling: SamplingSettings | None = None,
    ):
        transport = OpenAITransport(base_url, api_key, timeout)
        chat = _summary_chat(transport, model, fallback_model, quota, sampling)
        super().__init__(chat, input_tokens)


def _parse(reply: Reply, paper: Paper, language: str) -> tuple[PaperSummary | None, list[str]]:
    """Return the summary in `reply` and its problems (schema errors or content checks)."""
    empty = f"{EMPTY_ANSWER} (finish reason: {reply.finish})"
    summary, problems = read_answer(reply.text, PaperSummary, empty)
    if summary is None:
        return None, problems
    return summary, check_summary(summary, paper, language)
