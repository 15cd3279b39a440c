"""Small builders of domain records for tests."""

from __future__ import annotations

from datetime import UTC, datetime

from config import secrets
from config.settings import Settings
from tasks import services
from tasks.domain import Paper
from tasks.relevance.judge import Judge
from tasks.stage_config import llm_config
from tasks.summary.schema import Analysis, PaperSummary, SummaryRecord
from tasks.summary.summarizer import Summarizer

WHEN = datetime(2024, 10, 4, 12, 0, tzinfo=UTC)


def make_summarizer(settings: Settings, backend: str | None = None) -> Summarizer:
    """Return the summarizer a run with `settings` and `backend` builds."""
    return services.summarizer(llm_config(settings, backend), secrets.of(settings))


def make_judge(settings: Settings, backend: str | None = None) -> Judge | None:
    """Return the relevance judge a run with `settings` and `backend` builds, if any."""
    return services.judge(llm_config(settings, backend), secrets.of(settings))


def paper(arxiv_id: str = "2410.03665", version: int = 1, **fields) -> Paper:
    """Return a Paper with plausible defaults."""
    values = {
        "title": "A Diffusion Model for Things",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "abstract": "We train a latent diffusion model and evaluate it on benchmarks.",
        "published": WHEN,
        "updated": WHEN,
        "categories": ("cs.CV",),
        "primary_category": "cs.CV",
        "licence": "http://creativecommons.org/licenses/by/4.0/",
    }
    values.update(fields)
    return Paper(arxiv_id=arxiv_id, version=version, **values)


def summary(text: str = "内容") -> PaperSummary:
    """Return a valid PaperSummary whose every field contains `text`."""
    return PaperSummary(
        one_line=f"一句话：{text}",
        takeaways=[f"要点一 {text}", f"要点二 {text}", f"要点三 {text}"],
        analysis=Analysis(
            title_translation=f"标题翻译 {text}",
            keywords=["扩散模型", "生成", text],
            background=f"背景 {text}",
            prior_work=f"以往方法 {text}",
            method=f"方法 {text}",
            performance=f"性能 {text}",
            methodology=[f"步骤一 {text}", f"步骤二 {text}"],
            significance=f"意义 {text}",
            innovation=f"创新 {text}",
            performance_assessment=f"表现 {text}",
            workload=f"工作量 {text}",
        ),
    )


MADE = datetime(2024, 10, 7, 1, 0, tzinfo=UTC)  # when the factory's summaries were made


def record(p: Paper, text: str = "内容") -> SummaryRecord:
    """Return a SummaryRecord for `p`."""
    return SummaryRecord(
        p.arxiv_id,
        p.version,
        "gemini",
        "gemini-2.5-flash",
        "summary-v1",
        "zh",
        summary(text),
        1200,
        400,
        created_at=MADE,
    )
