"""A real key in December 2026: served models, sampling per model, quotas, recorded answers.

The fakes replay the shapes the real services send (tests/fixtures/llm/): a thinking model's
usage, a routed modelVersion, a QuotaFailure naming two quotas, 404 NOT_FOUND, an
API_KEY_INVALID ErrorInfo, promptFeedback.blockReason, DeepSeek's blank content.
"""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from config import secrets
from config.settings import Settings
from fakes.gemini_server import FakeGemini, replay
from fakes.openai_server import FakeOpenAI
from fakes.openai_server import replay as replay_openai
from fakes.recorded import gemini_models, recorded
from replay import arxiv_server as ax
from tasks.domain import Selection
from tasks.errors import LLMConfigError, QuotaExhausted, SummaryError, TransientError
from tasks.llm import models, plan
from tasks.llm.chat import QuotaSettings
from tasks.llm.quota import begin_requests, cost_usd, reset_quotas
from tasks.llm.sampling import SamplingSettings
from tasks.record import migrations, store, writes
from tasks.relevance.judge import parse_verdicts
from tasks.stage_config import llm_config
from tasks.summary.summarizer import GeminiSummarizer, OpenAISummarizer
from tests import factories
from tests.env import settings_env
from tests.summary.test_summarizer import make_extraction, make_paper
from tests.system import test_faults as faults
from tests.system.test_crash import ROOT, child_env, cli_run

KEY = "AIzaSy-models-canary-5b1e9c0d"
DEFAULT = Settings().llm_model
RETIRED = "gemini-2.5-flash"
PRICES = {DEFAULT: [0.30, 2.50], "gemini-3.8-flash": [0.75, 3.75]}


@pytest.fixture(autouse=True)
def fresh_quotas():
    reset_quotas()
    yield
    reset_quotas()


@pytest.fixture(scope="module")
def gemini():
    with FakeGemini(served=gemini_models()) as fake:
        yield fake


@pytest.fixture
def fake(gemini):
    gemini.reset()
    gemini.listed.clear()
    return gemini


def summarizer(fake, model: str = DEFAULT, **sampling) -> GeminiSummarizer:
    limits = QuotaSettings(prices=PRICES)
    return GeminiSummarizer(
        KEY, model, fake.url, timeout=5, quota=limits, sampling=SamplingSettings(**sampling)
    )


def settings(fake, tmp_path, **values) -> Settings:
    return Settings(GEMINI_API_KEY=KEY, gemini_base_url=fake.url, data_dir=tmp_path, **values)


def check_served(found: Settings) -> list[str]:
    """Check the models of a Gemini run with `found` settings, as `plan.begin_day` does."""
    return models.check_served(llm_config(found, "gemini"), found.cache_dir, secrets.of(found))


# -- served models ------------------------------------------------------------------------


def test_the_default_model_is_served_and_the_list_is_cached_for_the_day(fake, tmp_path):
    served = check_served(settings(fake, tmp_path))
    assert DEFAULT in served and RETIRED not in served
    assert "gemini-embedding-2" not in served  # no generateContent
    check_served(settings(fake, tmp_path))
    assert len(fake.listed) == 1 and fake.requests == []
    [cached] = (tmp_path / "cache" / "models").iterdir()
    record = json.loads(cached.read_text())
    assert record["backend"] == "gemini" and record["base_url"] == fake.url
    assert KEY not in cached.read_text()
    assert fake.listed[0].headers["x-goog-api-key"] == KEY


def test_a_retired_model_stops_with_one_line_naming_model_setting_and_served_ones(fake, tmp_path):
    with pytest.raises(LLMConfigError) as caught:
        check_served(settings(fake, tmp_path, llm_model=RETIRED))
    error = pickle.loads(pickle.dumps(caught.value))
    line = str(error)
    assert "\n" not in line and RETIRED in line
    assert "llm_model" in line and "DIGEST_LLM_MODEL" in line
    assert "gemini-3.8-flash" in line and "gemini-3.5-flash" in line and "pro" not in line


def test_a_model_missing_from_the_cached_list_is_looked_up_once_more(fake, tmp_path):
    check_served(settings(fake, tmp_path))
    fake.served = [*gemini_models(), "gemini-3.9-flash"]  # launched since the morning
    try:
        check_served(settings(fake, tmp_path, llm_model="gemini-3.9-flash"))
        check_served(settings(fake, tmp_path, llm_model="gemini-3.9-flash"))
    finally:
        fake.served = gemini_models()
    assert len(fake.listed) == 2  # the morning's list, then one fresh look, then the cache


def test_a_retired_fallback_model_names_its_own_setting(fake, tmp_path):
    with pytest.raises(LLMConfigError, match="llm_fallback_model / DIGEST_LLM_FALLBACK_MODEL"):
        check_served(settings(fake, tmp_path, llm_fallback_model=RETIRED))


def test_an_invalid_key_stops_the_check(fake, tmp_path):
    with FakeGemini() as other:
        other.served = None
        status, body = recorded("gemini_api_key_invalid")

        def refuse(request):  # the models list answers with the recorded 400
            return status, body

        other._models = refuse  # type: ignore[method-assign]
        with pytest.raises(LLMConfigError, match=r"API key not valid.*GEMINI_API_KEY"):
            check_served(settings(other, tmp_path))


def test_same_family_prefers_the_words_in_common():
    served = ["gemini-3.1-pro-preview", "gemini-3.5-flash-lite", "gemini-3.8-flash", "gpt-5"]
    assert models.same_family("gemini-2.5-flash", served)[:2] == [
        "gemini-3.8-flash",
        "gemini-3.5-flash-lite",
    ]
    assert models.same_family("gemini-2.5-pro", served)[0] == "gemini-3.1-pro-preview"


# -- calls: refusals that stop the run, and what answered ------------------------------------


def test_a_404_not_found_on_a_call_is_a_config_error(fake):
    with pytest.raises(LLMConfigError) as caught:
        summarizer(fake, RETIRED).summarize(make_paper(), None, "zh")
    assert "404 NOT_FOUND" in str(caught.value) and "DIGEST_LLM_MODEL" in str(caught.value)
    assert len(fake.requests) == 1  # no repair, no retry


@pytest.mark.parametrize("fixture", ["gemini_api_key_invalid", "gemini_permission_denied"])
def test_a_refused_key_on_a_call_is_a_config_error(fake, fixture):
    fake.inject(replay(fixture))
    with pytest.raises(LLMConfigError, match="GEMINI_API_KEY"):
        summarizer(fake).summarize(make_paper(), None, "zh")


def test_the_routed_model_is_recorded_and_priced(fake, caplog):
    fake.inject(replay("gemini_answer_routed"))
    record = summarizer(fake, "gemini-3.8-flash").summarize(make_paper(), None, "zh")
    assert (record.model, record.served_model) == ("gemini-3.8-flash", DEFAULT)
    assert record.cost_usd == pytest.approx(cost_usd(PRICES, DEFAULT, 6843, 1210 + 1049))
    assert any(DEFAULT in r.message and "answered" in r.message for r in caplog.records)


def test_thinking_tokens_bill_as_output(fake):
    fake.inject(replay("gemini_answer_thinking"))
    record = summarizer(fake).summarize(make_paper(), make_extraction(), "zh")
    assert (record.prompt_tokens, record.output_tokens) == (6843, 1210 + 1049)
    assert record.served_model == "" and record.calls == 1


def test_a_quota_failure_naming_minute_and_day_is_a_wait_not_a_spent_day(fake):
    fake.inject(replay("gemini_quota_minute_and_day"))
    with pytest.raises(TransientError) as caught:
        summarizer(fake).summarize(make_paper(), None, "zh")
    assert caught.value.retry_after == 41.0
    fake.inject(replay("gemini_quota_day"))
    with pytest.raises(QuotaExhausted, match="waits for the next run"):
        summarizer(fake).summarize(make_paper(), None, "zh")


@pytest.mark.parametrize(
    "fixture, reason",
    [("gemini_prompt_blocked", "blocked, PROHIBITED_CONTENT"), ("gemini_recitation", "RECITATION")],
)
def test_a_withheld_answer_is_not_repaired_and_says_why(fake, fixture, reason):
    fake.inject(replay(fixture))
    with pytest.raises(SummaryError) as caught:
        summarizer(fake).summarize(make_paper(), None, "zh")
    assert reason in str(caught.value) and "not asked again" in str(caught.value)
    assert len(fake.requests) == 1


def test_an_empty_stop_is_sent_again_once_as_it_was(fake):
    fake.inject(replay("gemini_empty_stop"))
    record = summarizer(fake).summarize(make_paper(), None, "zh")
    first, second = fake.requests
    assert first.body == second.body and record.calls == 2


# -- sampling ------------------------------------------------------------------------------


def generation(fake) -> dict:
    return fake.requests[-1].body["generationConfig"]


def test_gemini_3_gets_no_temperature_by_default_but_output_tokens(fake):
    summarizer(fake).summarize(make_paper(), None, "zh")
    config = generation(fake)
    assert "temperature" not in config and config["maxOutputTokens"] == 8192
    assert "thinkingConfig" not in config


def test_sampling_settings_reach_the_request(fake):
    summarizer(fake, temperature=0.5, thinking_budget=512).summarize(make_paper(), None, "zh")
    config = generation(fake)
    # google-genai sends the field under its proto name, which the API reads as well.
    assert config["temperature"] == 0.5
    assert config["thinkingConfig"] in ({"thinkingBudget": 512}, {"thinking_budget": 512})


def test_older_models_keep_the_purposes_temperature_and_empty_sends_none():
    auto, empty = SamplingSettings(), SamplingSettings(temperature=None)
    assert auto.for_model("deepseek-chat", 0.2).temperature == 0.2
    assert auto.for_model("gpt-5-mini", 0.2).temperature is None
    assert auto.for_model("o4-mini", 0.0).temperature is None
    assert auto.for_model("gemini-3.5-flash-lite", 0.2).temperature is None
    assert empty.for_model("deepseek-chat", 0.2).temperature is None


def test_an_empty_setting_is_not_sent(monkeypatch):
    monkeypatch.setenv("DIGEST_LLM_TEMPERATURE", "")
    monkeypatch.setenv("DIGEST_LLM_THINKING_BUDGET", "")
    found = Settings()
    assert found.llm_temperature is None and found.llm_thinking_budget is None


def test_a_prompt_past_the_context_window_is_warned_about(fake, caplog):
    summarizer(fake, context_tokens=4096).summarize(make_paper(), make_extraction(), "zh")
    assert any("llm_context_tokens = 4096" in r.message for r in caplog.records)


def test_a_model_without_a_price_is_warned_about_once(fake, caplog):
    fake.inject(replay("gemini_answer_thinking"), replay("gemini_answer_thinking"))
    unpriced = "gemini-3.6-flash"
    for _ in range(2):
        assert summarizer(fake, unpriced).summarize(make_paper(), None, "zh").cost_usd == 0
    warned = [r for r in caplog.records if f"no price for {unpriced}" in r.message]
    assert len(warned) == 1


# -- OpenAI-compatible: reasoning models and DeepSeek ----------------------------------------


def test_a_reasoning_model_gets_no_temperature_and_max_completion_tokens():
    with FakeOpenAI(served=["gpt-5-mini"], reasoning=True) as openai:
        openai.inject(replay_openai("openai_reasoning_answer"))
        record = OpenAISummarizer(openai.url, "gpt-5-mini", "sk-test").summarize(
            make_paper(), None, "zh"
        )
        [request] = openai.requests
    assert "temperature" not in request.body and "max_tokens" not in request.body
    assert request.body["max_completion_tokens"] == 8192
    assert (record.model, record.served_model) == ("gpt-5-mini", "")  # a dated snapshot
    assert record.output_tokens == 2433  # reasoning tokens are inside completion_tokens


def test_the_rejections_of_a_reasoning_model_are_what_the_fake_replays():
    with FakeOpenAI(reasoning=True) as openai:
        sampling = SamplingSettings(temperature=0.2)
        with pytest.raises(SummaryError, match="unsupported_value"):
            OpenAISummarizer(openai.url, "gpt-5-mini", sampling=sampling).summarize(
                make_paper(), None, "zh"
            )


def test_deepseek_blank_content_is_sent_again_and_reasoning_is_never_the_answer():
    with FakeOpenAI() as deepseek:
        deepseek.inject(
            replay_openai("deepseek_blank_content"), replay_openai("deepseek_reasoner_answer")
        )
        record = OpenAISummarizer(deepseek.url, "deepseek-reasoner").summarize(
            make_paper(), None, "zh"
        )
        first, second = deepseek.requests
    assert first.body == second.body and record.calls == 2
    assert first.body["max_tokens"] == 8192 and first.body["temperature"] == 0.2
    assert "user wants" not in record.summary.model_dump_json()


# -- the judge's ids -----------------------------------------------------------------------


def test_verdict_ids_without_version_or_with_a_prefix_are_matched_when_unambiguous():
    keys = ["2410.03665v1", "2410.03463v2"]
    answer = {
        "verdicts": [
            {"id": "arXiv:2410.03665v1", "relevant": True, "confidence": 0.9, "reason": "r"},
            {"id": "2410.03463", "relevant": False, "confidence": 0.8, "reason": "r"},
        ]
    }
    verdicts, problems = parse_verdicts(json.dumps(answer), keys)
    assert problems == [] and [v.id for v in verdicts] == keys


def test_an_ambiguous_bare_id_stays_unknown():
    keys = ["2410.03665v1", "2410.03665v2"]
    answer = {
        "verdicts": [{"id": "2410.03665", "relevant": True, "confidence": 0.9, "reason": "r"}]
    }
    _, problems = parse_verdicts(json.dumps(answer), keys)
    assert "unknown id 2410.03665" in problems


# -- the model that answered, where a reader sees it -------------------------------------


def test_a_routed_model_is_named_by_duckdb_the_post_and_the_run_report(tmp_path):
    from flows.report import paper_rows
    from tasks.record import views
    from tests.post.test_render import _render, _view

    p = factories.paper()
    routed = replace(factories.record(p), model=RETIRED, served_model=DEFAULT)
    db = tmp_path / "digest.duckdb"
    with store.connect(db) as con:
        writes.save_summary(con, routed)
        [(served,)] = con.execute("SELECT served_model FROM summaries").fetchall()
        assert served == DEFAULT and views._summary(con, [p.arxiv_id, 1], "zh") == routed
    shown = replace(_view(p), summary=routed)
    text = _render(tmp_path, [shown]).path.read_text()
    assert f"llm_models:\n- {DEFAULT}" in text and RETIRED not in text
    assert paper_rows([shown])[0]["model"] == DEFAULT


# -- the day's plan ----------------------------------------------------------------------


def forty_papers():
    papers = [factories.paper(f"2412.{10000 + n}") for n in range(40)]
    decisions = [Selection(p.arxiv_id, 1, "T", True, float(n % 7)) for n, p in enumerate(papers)]
    return papers, decisions


def test_the_free_tier_plan_for_a_40_paper_day(tmp_path):
    papers, decisions = forty_papers()
    free = Settings(data_dir=tmp_path, db_path=tmp_path / "none.duckdb")
    assert (free.llm_rpm, free.llm_rpd) == (5, 20)
    begin_requests({DEFAULT: 2})  # the judge's two batches of 25, earlier today
    day = plan.plan_day(
        llm_config(free, "gemini"), papers, decisions, "Diffusion Models 2026-12-04"
    )
    assert day.line == (
        "Diffusion Models 2026-12-04: 40 LLM calls needed, 18 left today (llm_rpd = 20, "
        "since midnight Pacific): 22 papers will wait"
    )
    scores = {d.arxiv_id: d.score for d in decisions}
    assert len(day.now) == 18 and len(day.waiting) == 22
    assert min(scores[p.arxiv_id] for p in day.now) >= max(scores[w.arxiv_id] for w in day.waiting)
    assert all(store.WAITING in w.reason and "llm_rpd" in w.reason for w in day.waiting)


def test_requests_earlier_today_count_from_duckdb(tmp_path):
    db = tmp_path / "digest.duckdb"
    paper = factories.paper()
    with store.connect(db) as con:
        made = datetime.now(UTC)
        writes.save_summary(
            con, replace(factories.record(paper), model=DEFAULT, calls=3, created_at=made)
        )
    found = Settings(data_dir=tmp_path, db_path=db)
    assert plan.requests_today(found.db_path) == {DEFAULT: 3}
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (
            migrations.SCHEMA_VERSION,
        )
        assert con.execute("SELECT served_model, calls FROM summaries").fetchall() == [("", 3)]


# -- whole runs ---------------------------------------------------------------------------

RUN = cli_run("gemini")


@pytest.fixture(scope="module")
def retired_run(prefect_harness, tmp_path_factory):
    """Run the CLI as a person does with a shut-down model against a current-only service."""
    data = tmp_path_factory.mktemp("retired") / "data"
    with ax.ArxivServer(faults.entries(), faults.good_pdf) as arxiv, FakeGemini() as gemini:
        env = {**child_env(arxiv, gemini, data), "DIGEST_LLM_MODEL": RETIRED}
        done = subprocess.run(RUN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        calls = gemini.count("generateContent")
    return done, calls, data


def test_a_shut_down_model_stops_the_run_with_one_line(retired_run):
    done, calls, data = retired_run
    assert done.returncode == 1 and calls == 0
    [line] = [x for x in (done.stdout + done.stderr).splitlines() if x.startswith("error:")]
    assert RETIRED in line and "DIGEST_LLM_MODEL" in line and "gemini-3.8-flash" in line
    assert "Traceback" not in done.stdout + done.stderr
    if (data / "digest.duckdb").exists():
        with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM failures").fetchone() == (0,)


def default_env(arxiv, data, **values: str) -> dict[str, str]:
    """The shipped settings, but fakes, a data directory and no minute pacing (test speed)."""
    return {
        **arxiv.env(),
        "DIGEST_ARXIV_MIN_INTERVAL": "0.02",
        "DIGEST_DATA_DIR": str(data),
        "DIGEST_DB_PATH": str(data / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data / "posts"),
        "DIGEST_LLM_RPM": "0",
        "DIGEST_RETRY_DELAYS": "[0.1, 0.1, 0.1]",
        **values,
    }


def run_flow(env: dict[str, str], llm: str):
    from flows.daily_digest import daily_digest

    keys = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY", "DIGEST_LLM_MODEL")
    with settings_env(env, drop=keys):
        reset_quotas()
        [result] = daily_digest(day=faults.DAY, topics=[faults.TOPIC], llm=llm)
    return result


@pytest.fixture(scope="module")
def default_day(prefect_harness, tmp_path_factory):
    data = tmp_path_factory.mktemp("default-day")
    with (
        ax.ArxivServer(faults.entries(), faults.good_pdf) as arxiv,
        FakeGemini(served=gemini_models(), judge=lambda _id: True) as gemini,
    ):
        env = default_env(arxiv, data, GEMINI_API_KEY=KEY, DIGEST_GEMINI_BASE_URL=gemini.url)
        with faults.capturing() as capture:
            result = run_flow(env, "gemini")
        yield {
            "result": result,
            "requests": list(gemini.requests),
            "listed": len(gemini.listed),
            "log": capture.lines,
            "data": data,
        }


def test_the_default_settings_run_a_day_against_current_models(default_day):
    result = default_day["result"]
    assert result.kept and result.summarized == result.kept and result.failures == []
    assert {r.model for r in default_day["requests"]} == {DEFAULT}
    assert default_day["listed"] == 1
    assert all("temperature" not in r.body["generationConfig"] for r in default_day["requests"])
    assert any("LLM calls needed" in line and "left today" in line for line in default_day["log"])
    post = Path(result.post).read_text(encoding="utf-8")
    assert DEFAULT in post


def test_the_model_list_cache_and_every_record_hold_no_key(default_day):
    files = [p for p in default_day["data"].rglob("*") if p.is_file()]
    assert any(p.parent.name == "models" for p in files)
    assert not [p for p in files if KEY.encode() in p.read_bytes()]


@pytest.fixture(scope="module")
def reasoning_day(prefect_harness, tmp_path_factory):
    data = tmp_path_factory.mktemp("gpt-5-mini")
    served = [m["id"] for m in recorded("openai_models_list")[1]["data"]]
    with (
        ax.ArxivServer(faults.entries(), faults.good_pdf) as arxiv,
        FakeOpenAI(served=served, reasoning=True) as openai,
    ):
        env = default_env(
            arxiv,
            data,
            DIGEST_OPENAI_BASE_URL=openai.url,
            OPENAI_API_KEY="sk-test",
            DIGEST_LLM_MODEL="gpt-5-mini",
        )
        result = run_flow(env, "openai")
        yield {"result": result, "requests": list(openai.requests), "data": data}


def test_gpt_5_mini_runs_a_day_against_an_endpoint_that_rejects_temperature(reasoning_day):
    result = reasoning_day["result"]
    assert result.kept and result.summarized == result.kept and result.failures == []
    requests = reasoning_day["requests"]
    assert requests and all("temperature" not in r.body for r in requests)
    assert all(r.body["max_completion_tokens"] == 8192 for r in requests)
    with duckdb.connect(str(reasoning_day["data"] / "digest.duckdb"), read_only=True) as con:
        models_used = con.execute("SELECT DISTINCT model FROM summaries").fetchall()
    assert models_used == [("gpt-5-mini",)]


def test_log_capture_is_quiet_about_the_key(default_day):
    assert not [line for line in default_day["log"] if KEY in line]
    logging.getLogger(__name__).debug("done")


def test_a_key_refused_on_a_call_stops_the_run_and_records_no_failure(prefect_harness, tmp_path):
    """An endpoint with no model list: the first call's 401 is what stops the run."""
    with ax.ArxivServer(faults.entries(), faults.good_pdf) as arxiv, FakeOpenAI() as openai:
        openai.inject(replay_openai("openai_invalid_key"))
        env = default_env(
            arxiv,
            tmp_path,
            DIGEST_OPENAI_BASE_URL=openai.url,
            DIGEST_LLM_MODEL="deepseek-chat",
            DIGEST_LLM_JUDGE="false",
            DIGEST_LLM_CONCURRENCY="1",
        )
        with pytest.raises(LLMConfigError, match=r"401 invalid_api_key.*OPENAI_API_KEY"):
            run_flow(env, "openai")
        assert len(openai.listed) == 1 and len(openai.requests) == 1
    if (tmp_path / "digest.duckdb").exists():
        with duckdb.connect(str(tmp_path / "digest.duckdb"), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM failures").fetchone() == (0,)
