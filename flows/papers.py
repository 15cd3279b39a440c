"""The kept papers of a topic's day through download → extract → summarize, as data.

The pipeline is declared here as steps with their limits and run by `tasks.pipeline`; each
finished stage is already persisted by Prefect, so a crash before storing loses no work,
only its record.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from prefect import get_run_logger

from flows import report
from tasks import pipeline, stages
from tasks.domain import Failure, Paper, Stage
from tasks.errors import LLMConfigError, QuotaExhausted
from tasks.pipeline import Step
from tasks.record import store

if TYPE_CHECKING:
    from flows.results import TopicResult

DOWNLOADS_IN_FLIGHT = 2  # downloads are the day's critical path; arXiv paces them anyway


def paper_steps(steps: stages.Stages, language: str) -> list[Step[Paper]]:
    """Return the per-paper pipeline: a paper whose PDF failed is summarized from its abstract."""
    config = steps.config
    return [
        Step(
            "download",
            lambda paper, _: steps.download_pdf.submit(paper, config),
            DOWNLOADS_IN_FLIGHT,
            then="extract",
            otherwise="summarize",
        ),
        Step(
            "extract",
            lambda paper, pdf: steps.extract_pdf.submit(pdf, paper, config),
            os.cpu_count() or 1,
            then="summarize",
            otherwise="summarize",
        ),
        Step(
            "summarize",
            lambda paper, found: steps.summarize_paper.submit(paper, found, language, config.llm),
            config.llm.quota.concurrency,
        ),
    ]


def process(
    steps: stages.Stages,
    kept: list[Paper],
    language: str,
    result: TopicResult,
    started: Callable[[], object] | None = None,
) -> list[Any]:
    """Stream each paper through the pipeline; return the extractions, summaries and failures.

    `started`, if given, is called once the first downloads are under way.
    """
    records: list[Any] = []
    label = f"{result.topic} {result.day}: papers done"
    model = steps.config.llm.model
    progress = report.Progress(len(kept), label, result.topic, reused=result.reused, model=model)
    flow = pipeline.run(paper_steps(steps, language), kept, pipeline.prefect_outcome, started)
    for done in flow:
        if done.step == "summarize":
            progress.advance()
        if not done.ok:
            records.append(failure(result, done.item, cast(Stage, done.step), done.value))
        elif done.step != "download":
            records.append(done.value)
        if done.ok and done.step == "summarize":
            result.summarized += 1
            result.prompt_tokens += done.value.prompt_tokens
            result.output_tokens += done.value.output_tokens
            result.cost_usd += done.value.cost_usd
    return records


def failure(result: TopicResult, paper: Paper, stage: Stage, error: BaseException) -> Failure:
    """Return the failure record of a stage for one paper, and note it in the run report."""
    if isinstance(error, LLMConfigError):
        raise error  # no paper can succeed: the run stops with the service's one line
    reason = str(error) or type(error).__name__
    if not isinstance(error, QuotaExhausted):
        result.failures.append(f"{paper.key} {stage}: {reason}")
        get_run_logger().warning("%s failed at %s: %s", paper.key, stage, reason)
        return Failure(paper.arxiv_id, paper.version, stage, reason)
    # Not a failure of the paper: the next run summarizes it. The post tells by the mark.
    if store.WAITING not in reason:
        reason = f"{reason}; the paper {store.WAITING}"
    result.waiting.append(paper.key)
    get_run_logger().warning("%s waits for the next run: %s", paper.key, reason)
    return Failure(paper.arxiv_id, paper.version, stage, reason, "waiting")
