"""The day's LLM plan: the service's models checked, requests counted, papers put in order.

Before the first call a run knows how many requests the day's papers need (one per summary;
a repair or a resend takes one more) and how many `llm_rpd` leaves, counting every run since
midnight Pacific time (when Google resets daily quotas) from DuckDB. When not all fit, the
highest-scoring papers go first and the others wait for the next run without a call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from config.secrets import Secrets
from config.settings import LLM_BACKENDS
from tasks.domain import Failure, Paper, Selection
from tasks.llm import models, quota
from tasks.record import history, store
from tasks.stage_config import LLMConfig, StageConfig

log = logging.getLogger(__name__)

QUOTA_DAY = ZoneInfo("America/Los_Angeles")  # Gemini's requests-per-day reset at its midnight


@dataclass(frozen=True)
class Plan:
    """Which papers are summarized now, which wait, and the line that says so."""

    now: list[Paper]
    waiting: list[Failure]
    line: str


def begin_day(config: StageConfig, keys: Secrets | None = None) -> None:
    """Check that the service serves the configured models; load today's request counts.

    Raises LLMConfigError (one line: the model, the setting, what is served) before any paper.
    """
    llm = config.llm
    if llm.backend not in LLM_BACKENDS:
        return
    models.check_served(llm, config.cache_dir, keys)
    quota.begin_requests(requests_today(config.db_path))
    for model in filter(None, (llm.model, llm.fallback_model)):
        if model not in llm.quota.prices:
            quota.warn_once(quota.unpriced(model, llm.quota.budget_usd))


def requests_today(db_path: Path) -> dict[str, int]:
    """Return the LLM requests per model that DuckDB records since midnight Pacific."""
    if not db_path.exists():
        return {}
    midnight = datetime.now(QUOTA_DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    with store.connect(db_path, read_only=True) as con:
        return history.calls_since(con, midnight)


def plan_day(
    llm: LLMConfig,
    todo: Sequence[Paper],
    decisions: Sequence[Selection],
    label: str,
) -> Plan:
    """Return the papers to summarize now, highest-scoring first, and those that must wait."""
    ranked = sorted(todo, key=lambda p: _rank(p, decisions), reverse=True)
    if llm.backend not in LLM_BACKENDS:
        return Plan(ranked, [], "")
    left = _left_today(llm)
    now, later = ranked[:left], ranked[left:]
    reason = f"{llm.model}'s {llm.quota.rpd} requests a day (llm_rpd) are used"
    why = f"{reason}; the paper {store.WAITING}"
    waiting = [Failure(p.arxiv_id, p.version, "summarize", why, "waiting") for p in later]
    return Plan(now, waiting, plan_line(label, len(ranked), left, llm.quota.rpd))


def plan_line(label: str, needed: int, left: int, rpd: int) -> str:
    """Return the plan as the run logs it."""
    if not rpd:
        return f"{label}: {needed} LLM calls needed; no daily request limit (llm_rpd = 0)"
    waits = max(0, needed - left)
    return (
        f"{label}: {needed} LLM calls needed, {left} left today (llm_rpd = {rpd}, since "
        f"midnight Pacific): {waits} papers will wait"
    )


def _left_today(llm: LLMConfig) -> int:
    limits = llm.quota
    chosen = [m for m in (llm.model, llm.fallback_model) if m]
    if not limits.rpd:
        return 1 << 30
    args = (limits.rpm, limits.concurrency, limits.budget_usd, limits.rpd)
    return sum(quota.get_quota(m, *args).left_today() for m in chosen)


def _rank(paper: Paper, decisions: Sequence[Selection]) -> tuple[float, float]:
    for s in decisions:
        if (s.arxiv_id, s.version) == (paper.arxiv_id, paper.version):
            return s.score, s.confidence or 0.0
    return 0.0, 0.0
