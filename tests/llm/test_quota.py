"""LLM quotas against the fake Gemini: pacing, RetryInfo, daily exhaustion, budget, cost."""

from __future__ import annotations

import time

import pytest

from fakes.gemini_server import FakeGemini, Fault, rate_limited
from tasks.errors import QuotaExhausted, TransientError
from tasks.llm.quota import cost_usd, reset_quotas
from tasks.summary.summarizer import GeminiSummarizer, QuotaSettings
from tests.factories import paper

PRICES = {"flash": [0.30, 2.50], "lite": [0.10, 0.40]}


def daily_quota() -> Fault:
    violation = {
        "quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
        "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
    }
    details = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}]
    error = {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}
    return Fault(status=429, body={"error": {**error, "details": details}})


@pytest.fixture
def fake():
    reset_quotas()
    with FakeGemini() as server:
        yield server
    reset_quotas()


def summarizer(fake, fallback="", **limits) -> GeminiSummarizer:
    quota = QuotaSettings(prices=PRICES, **limits)
    return GeminiSummarizer("k", "flash", fake.url, 5, fallback_model=fallback, quota=quota)


def test_retry_info_holds_back_the_next_call(fake):
    llm = summarizer(fake)
    fake.inject(rate_limited("2s"))
    started = time.monotonic()
    with pytest.raises(TransientError):
        llm.summarize(paper(), None, "zh")
    record = llm.summarize(paper(), None, "zh")  # what Prefect's retry does
    assert time.monotonic() - started >= 2.0
    assert record.model == "flash" and fake.count("generateContent") == 2


def test_calls_are_paced_per_minute(fake):
    llm = summarizer(fake, rpm=600)  # one call every 0.1 s
    started = time.monotonic()
    for _ in range(4):
        llm.summarize(paper(), None, "zh")
    assert time.monotonic() - started >= 0.3


def test_daily_quota_without_fallback_leaves_papers_pending(fake):
    llm = summarizer(fake)
    fake.inject(daily_quota())
    with pytest.raises(QuotaExhausted):
        llm.summarize(paper(), None, "zh")
    with pytest.raises(QuotaExhausted):  # no further call is even tried
        llm.summarize(paper("2410.00002"), None, "zh")
    assert fake.count("generateContent") == 1


def test_daily_quota_switches_to_the_fallback_model(fake):
    llm = summarizer(fake, fallback="lite")
    fake.inject(daily_quota())
    with pytest.raises(TransientError, match="fallback"):
        llm.summarize(paper(), None, "zh")
    record = llm.summarize(paper(), None, "zh")
    assert record.model == "lite"
    assert [r.model for r in fake.requests] == ["flash", "lite"]


def test_cost_is_recorded_and_the_budget_stops_further_calls(fake):
    llm = summarizer(fake, budget_usd=1e-9)
    record = llm.summarize(paper(), None, "zh")
    assert record.cost_usd == pytest.approx(
        cost_usd(PRICES, "flash", record.prompt_tokens, record.output_tokens)
    )
    assert record.cost_usd > 0
    with pytest.raises(QuotaExhausted, match="budget"):
        llm.summarize(paper("2410.00002"), None, "zh")
    assert fake.count("generateContent") == 1
