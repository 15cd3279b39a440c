"""Relevance beyond keywords: an LLM judges the keyword net's candidates on title and abstract.

Selection has two steps. A wide keyword net (the topic's include phrases plus its broader
`candidates` phrases) nominates papers cheaply; the judge then reads each candidate's title and
abstract in batches and answers yes or no with a reason and a confidence. Without a judge, or
for a batch the judge could not answer, the keyword step's own decision stands and says so.

Plain Python; the flow runs each batch as the `judge_papers` task, which owns retries, so
nothing here retries a transient failure.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from config.settings import Topic
from tasks.domain import Paper, Selection
from tasks.errors import ConfigError, JudgeError, QuotaExhausted, TransientError
from tasks.llm.chat import Chat, QuotaSettings, Transport, ask_json, tokens
from tasks.llm.gemini import GeminiTransport
from tasks.llm.openai_chat import OpenAITransport
from tasks.llm.prompting import defuse, load_template, one_line, prompt_path
from tasks.llm.sampling import SamplingSettings
from tasks.relevance import keywords
from tasks.relevance.verdicts import Verdict, Verdicts, parse_verdicts

log = logging.getLogger(__name__)

JUDGE_PROMPT_PATH = prompt_path("judge")
ABSTRACT_CHARS = 3000  # arXiv caps abstracts at 1920 characters; this only stops abuse
SPENT = "the keyword step decides"


@dataclass(frozen=True)
class JudgeBatch:
    """A judge's verdicts on one batch, with the tokens and cost of getting them."""

    verdicts: tuple[Verdict, ...]
    model: str
    prompt_version: str
    prompt_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    # When the call was made: a cached batch keeps its time, so a day's spend is exact.
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    served_model: str = ""  # the model that answered, when the service names another
    calls: int = 1  # requests it took, for llm_rpd


@dataclass(frozen=True)
class JudgedDay:
    """A topic's decisions on a day's papers and the judge calls that made them."""

    selections: list[Selection]
    batches: list[JudgeBatch] = field(default_factory=list)
    failed_batches: int = 0


class Judge(Protocol):
    """A backend that judges a batch of papers for a topic."""

    name: str
    model: str

    def judge(self, papers: Sequence[Paper], topic: Topic) -> JudgeBatch: ...


JUDGE_PROMPT_VERSION = load_template("judge").version


def build_prompt(papers: Sequence[Paper], topic: Topic) -> tuple[str, str]:
    """Return the (system, user) prompt asking for a verdict on each of `papers`."""
    blocks = "\n\n".join(
        f'<paper id="{p.key}">\nTitle: {_data(p.title)}\nAbstract: '
        f"{_data(p.abstract)[:ABSTRACT_CHARS]}\n</paper>"
        for p in papers
    )
    values = {
        "topic_name": topic.name,
        "description": topic.description.strip() or f"Papers about {topic.name}.",
        "count": str(len(papers)),
        "papers": blocks,
    }
    return load_template("judge").fill(values)


def _data(text: str) -> str:
    """Return `text` on one line, with anything that could open or close a paper tag defused."""
    return defuse(one_line(text))


class LLMJudge:
    """Judge with an LLM through a chat backend: one call per batch, one retry at most."""

    def __init__(self, chat: Chat):
        self._chat = chat
        self.name = chat.transport.name
        self.model = chat.models[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"

    def judge(self, papers: Sequence[Paper], topic: Topic) -> JudgeBatch:
        """Return one verdict per paper; raise JudgeError if a retry does not fix the answer."""
        keys = [p.key for p in papers]
        label = f"{keys[0]}..{keys[-1]}" if len(keys) > 1 else keys[0]
        verdicts, replies = ask_json(
            self._chat,
            label,
            build_prompt(papers, topic),
            Verdicts,
            lambda reply: parse_verdicts(reply.text, keys),
            "verdicts",
            temperature=0.0,
        )
        prompt, output = tokens(replies)
        last = replies[-1]
        served = "" if last.answered_by == last.model else last.answered_by
        return JudgeBatch(
            tuple(verdicts),
            last.model,
            JUDGE_PROMPT_VERSION,
            prompt,
            output,
            self._chat.cost(replies),
            served_model=served,
            calls=len(replies),
        )


def _judge_chat(
    transport: Transport,
    model: str,
    quota: QuotaSettings | None,
    sampling: SamplingSettings | None = None,
) -> Chat:
    return Chat(transport, [model], quota or QuotaSettings(), JudgeError, SPENT, sampling)


class GeminiJudge(LLMJudge):
    """Judge with Gemini through google-genai."""

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str = "",
        timeout: float = 120.0,
        quota: QuotaSettings | None = None,
        sampling: SamplingSettings | None = None,
    ):
        if not api_key:
            raise ConfigError("GEMINI_API_KEY is not set; set it or set llm_judge = false")
        transport = GeminiTransport(api_key, base_url, timeout)
        super().__init__(_judge_chat(transport, model, quota, sampling))


class OpenAIJudge(LLMJudge):
    """Judge through any OpenAI-compatible chat-completions endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 120.0,
        quota: QuotaSettings | None = None,
        sampling: SamplingSettings | None = None,
    ):
        transport = OpenAITransport(base_url, api_key, timeout)
        super().__init__(_judge_chat(transport, model, quota, sampling))


def keyword_net(papers: Sequence[Paper], topic: Topic) -> list[Selection]:
    """Score `papers` with the wide net: include and candidate phrases at the topic's threshold."""
    phrases = [*topic.include, *topic.candidates]
    return keywords.select_papers(papers, topic.name, phrases, topic.exclude, topic.min_score)


def judge_day(
    papers: Sequence[Paper],
    keyword_selections: Sequence[Selection],
    judge: Judge | None,
    topic: Topic,
    batch_size: int = 25,
) -> JudgedDay:
    """Return the topic's decision on each paper: the judge's on candidates, else the keyword's."""
    keyword = {_k(s): s for s in keyword_selections}
    if judge is None:
        return JudgedDay([_alone(s, topic.min_score) for s in keyword_selections])
    net = {_k(s): s for s in keyword_net(papers, topic)}
    chosen = [p for p in papers if net[_k(p)].kept or keyword[_k(p)].kept]
    calls = -(-len(chosen) // batch_size)
    log.info("%s: %d candidates for the judge, %d calls", topic.name, len(chosen), calls)
    decided: dict[tuple[str, int], Selection] = {}
    batches: list[JudgeBatch] = []
    failed = 0
    for start in range(0, len(chosen), batch_size):
        batch = chosen[start : start + batch_size]
        try:
            result = judge.judge(batch, topic)
        except (JudgeError, QuotaExhausted, TransientError) as exc:
            log.warning(
                "%s: judge failed for %d papers (%s); keyword decisions stand",
                topic.name,
                len(batch),
                exc,
            )
            failed += 1
            decided |= {_k(p): _fallback(keyword[_k(p)], exc, topic.min_score) for p in batch}
            continue
        batches.append(result)
        by_id = {v.id: v for v in result.verdicts}
        decided |= {_k(p): _judged(net[_k(p)], by_id[p.key]) for p in batch}
    selections = [decided.get(k) or _below_net(net[k], topic.min_score) for k in keyword]
    return JudgedDay(selections, batches, failed)


def _k(item: Paper | Selection) -> tuple[str, int]:
    return item.arxiv_id, item.version


def judge_selection(
    papers: Sequence[Paper],
    keyword_selections: Sequence[Selection],
    judge: Judge | None,
    topic: Topic,
    batch_size: int = 25,
) -> list[Selection]:
    """Return the topic's decision on every paper (see `judge_day`)."""
    return judge_day(papers, keyword_selections, judge, topic, batch_size).selections


def _judged(net: Selection, verdict: Verdict) -> Selection:
    reason = " ".join(verdict.reason.split())
    return replace(
        net, kept=verdict.relevant, step="judge", reason=reason, confidence=verdict.confidence
    )


def _alone(s: Selection, min_score: float) -> Selection:
    return replace(
        s, step="keyword", reason=f"keyword step alone (no LLM judge): {_score(s, min_score)}"
    )


def _fallback(s: Selection, exc: Exception, min_score: float) -> Selection:
    reason = f"judge failed ({exc}); keyword decision: {_score(s, min_score)}"
    return replace(s, step="fallback", reason=reason)


def _below_net(s: Selection, min_score: float) -> Selection:
    reason = f"not a judge candidate: net score {s.score:g} < {min_score:g}"
    return replace(s, kept=False, step="keyword", reason=reason)


def _score(s: Selection, min_score: float) -> str:
    return f"score {s.score:g} {'>=' if s.kept else '<'} {min_score:g}"
