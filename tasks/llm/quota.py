"""LLM quotas: pace requests per minute, cap concurrency, stop at a daily limit or budget.

The budget (`llm_budget_usd`) is per UTC calendar day: each run starts from the day's spend
recorded in DuckDB (summaries and judge calls) and stops calling once the sum reaches it.
Requests per day (`llm_rpd`) count the same way, per model, from midnight Pacific time, when
Google resets the daily quotas.

One `Quota` per model and process, shared by every summarize task, so a 429's RetryInfo
delay holds back all calls, not only the one that was refused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tasks.errors import QuotaExhausted
from tasks.source.limiter import Limiter

log = logging.getLogger(__name__)

TOKENS_PER_PRICE_UNIT = 1_000_000


def cost_usd(prices: dict[str, list[float]], model: str, prompt: int, output: int) -> float:
    """Return the cost of a call from the price table (USD per million tokens in, out)."""
    price_in, price_out = prices.get(model, (0.0, 0.0))
    return (prompt * price_in + output * price_out) / TOKENS_PER_PRICE_UNIT


@dataclass
class Quota:
    """The client-side limits for one model in this process."""

    rpm: float = 0.0
    concurrency: int = 2
    budget_usd: float = 0.0
    rpd: int = 0
    model: str = ""
    spent_usd: float = 0.0
    calls: int = 0  # requests this process started since the run began
    exhausted: str = ""
    _limiter: Limiter = field(init=False, repr=False)
    _slots: threading.Semaphore = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._limiter = Limiter(60.0 / self.rpm if self.rpm > 0 else 0.0)
        self._slots = threading.Semaphore(max(1, self.concurrency))

    @contextmanager
    def call(self, paper: str) -> Iterator[None]:
        """Hold a concurrency slot for one call, started no sooner than the pace allows."""
        self.check(paper)
        with self._slots:
            with self._limiter.slot():
                pass  # the slot spaces call starts; calls themselves may overlap
            self.check(paper)
            with self._lock:
                self.calls += 1
            yield

    def check(self, paper: str) -> None:
        """Raise QuotaExhausted once the daily quota or the budget is used up."""
        if self.exhausted:
            raise QuotaExhausted(self.exhausted, paper)
        if self.rpd and self.left_today() <= 0:
            used = f"{self.model}'s {self.rpd} requests a day (llm_rpd) are used"
            raise QuotaExhausted(used, paper)
        if self.budget_usd and _spent_before + self.spent_usd >= self.budget_usd:
            raise QuotaExhausted(f"the daily LLM budget of ${self.budget_usd:.2f} is spent", paper)

    def left_today(self) -> int:
        """Return how many requests `llm_rpd` leaves today (large when there is no limit)."""
        if not self.rpd:
            return 1 << 30
        return max(0, self.rpd - _calls_before.get(self.model, 0) - self.calls)

    def back_off(self, seconds: float) -> None:
        """Start no call for `seconds` (a per-minute 429's RetryInfo)."""
        self._limiter.wait(seconds)

    def exhaust(self, reason: str) -> None:
        """Refuse every further call in this process (a per-day 429)."""
        self.exhausted = reason

    def charge(self, cost: float) -> None:
        """Add a call's cost to what this process has spent."""
        with self._lock:
            self.spent_usd += cost


_quotas: dict[str, Quota] = {}
_quotas_lock = threading.Lock()
_spent_before = 0.0  # what earlier runs spent today, as DuckDB records it
_calls_before: dict[str, int] = {}  # requests per model earlier runs made today (Pacific)


def begin_run(spent_today: float, calls_today: dict[str, int] | None = None) -> None:
    """Start a run's accounting from what DuckDB says was spent today (UTC) so far.

    The budget is daily: every run of the day, in this process or another, counts against it.
    What this process spent before is in that sum, so its own tally starts again from zero.
    """
    global _spent_before, _calls_before
    with _quotas_lock:
        _spent_before = spent_today
        _calls_before = dict(calls_today or {})
        for quota in _quotas.values():
            with quota._lock:
                quota.spent_usd = 0.0
                quota.calls = 0


def begin_requests(calls_today: dict[str, int]) -> None:
    """Start counting `llm_rpd` from the requests per model earlier runs made today."""
    global _calls_before
    with _quotas_lock:
        _calls_before = dict(calls_today)
        for quota in _quotas.values():
            with quota._lock:
                quota.calls = 0


def get_quota(model: str, rpm: float, concurrency: int, budget_usd: float, rpd: int = 0) -> Quota:
    """Return the process's shared quota for `model`."""
    with _quotas_lock:
        if model not in _quotas:
            _quotas[model] = Quota(rpm, concurrency, budget_usd, rpd, model)
        return _quotas[model]


def reset_quotas() -> None:
    """Forget every quota and the day's spend (a new run, or a test)."""
    global _spent_before, _calls_before
    with _quotas_lock:
        _quotas.clear()
        _spent_before = 0.0
        _calls_before = {}


def unpriced(model: str, budget_usd: float) -> str:
    """Return the warning for a model the price table lacks."""
    budget = "; llm_budget_usd cannot apply to it" if budget_usd else ""
    return f"no price for {model} in [llm_prices]: its calls count as $0{budget}"


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(message: str) -> None:
    """Log `message` as a warning the first time this process meets it."""
    with _warned_lock:
        if message in _warned:
            return
        _warned.add(message)
    log.warning(message)
