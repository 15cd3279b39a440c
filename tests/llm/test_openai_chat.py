"""The openai backend against a local fake of the chat-completions API: summaries, the judge,
backend choice, and whole days through the daily-digest flow."""

from __future__ import annotations

import json
import logging
import pickle
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from config.settings import Settings
from fakes.openai_server import (
    FakeOpenAI,
    Fault,
    answer,
    client_error,
    default_answer,
    delay,
    insufficient_quota,
    rate_limited,
    raw_body,
    server_error,
)
from flows.demo import SAMPLE, pdf_factory
from replay.arxiv_server import ArxivServer
from tasks.errors import (
    ConfigError,
    JudgeError,
    LLMConfigError,
    QuotaExhausted,
    SummaryError,
    TransientError,
)
from tasks.llm.quota import cost_usd, reset_quotas
from tasks.record.store import WAITING
from tasks.relevance import judge
from tasks.summary.summarizer import (
    PROMPT_VERSION,
    GeminiSummarizer,
    OpenAISummarizer,
    QuotaSettings,
)
from tests.env import settings_env
from tests.factories import make_judge, make_summarizer, paper
from tests.relevance.test_judge import TOPIC, day, keyword
from tests.summary.test_summarizer import make_extraction, make_paper
from tests.system.test_faults import capturing

KEY = "sk-test-openai-key-do-not-log-0123456789"
MODEL = "deepseek-chat"
PRICES = {MODEL: [0.28, 0.42], "deepseek-lite": [0.1, 0.2]}


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOpenAI):
    server.reset()
    server.responder = default_answer
    reset_quotas()
    yield server
    reset_quotas()


def summarizer(fake: FakeOpenAI, key: str = KEY, **options) -> OpenAISummarizer:
    limits = QuotaSettings(prices=PRICES, **options.pop("limits", {}))
    return OpenAISummarizer(fake.url, MODEL, key, timeout=5, quota=limits, **options)


# -- OpenAISummarizer against the fake ----------------------------------------------------


def test_success_records_backend_model_prompt_version_language_tokens_and_cost(fake):
    record = summarizer(fake).summarize(make_paper(), make_extraction(), "zh")

    [request] = fake.requests
    assert (record.arxiv_id, record.version) == ("2410.03665", 1)
    assert (record.backend, record.model, record.language) == ("openai", MODEL, "zh")
    assert record.prompt_version == PROMPT_VERSION
    assert record.summary.analysis.keywords[0] == "扩散模型"
    assert record.prompt_tokens == len(request.prompt_text) // 4 > 1000
    assert record.output_tokens > 100
    assert record.cost_usd == pytest.approx(
        cost_usd(PRICES, MODEL, record.prompt_tokens, record.output_tokens)
    )


def test_request_is_what_the_chat_completions_api_expects(fake):
    summarizer(fake).summarize(make_paper(), make_extraction(), "zh")

    [request] = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.body
    assert (body["model"], body["response_format"], body["stream"]) == (
        MODEL,
        {"type": "json_object"},
        False,
    )
    system, user = body["messages"]
    assert (system["role"], user["role"]) == ("system", "user")
    assert "Simplified Chinese" in system["content"]
    schema = json.loads(system["content"].split("The JSON schema of your answer:\n")[1])
    assert set(schema["properties"]) == {"one_line", "takeaways", "analysis"}
    assert "<paper>\nTitle: Estimating Body" in user["content"]


def test_without_a_key_no_authorization_is_sent(fake):
    # Ollama and vLLM take no key.
    summarizer(fake, key="").summarize(make_paper(), None, "zh")
    assert "authorization" not in fake.requests[0].headers


def test_429_with_retry_after_holds_back_the_next_call_then_succeeds(fake):
    llm = summarizer(fake)
    fake.inject(rate_limited(retry_after="2"))

    with pytest.raises(TransientError) as caught:
        llm.summarize(make_paper(), None, "zh")
    record = llm.summarize(make_paper(), None, "zh")  # what Prefect's retry does

    assert caught.value.retry_after == 2.0 and "429" in str(caught.value)
    assert caught.value.paper == "2410.03665v1"
    assert pickle.loads(pickle.dumps(caught.value)).retry_after == 2.0
    first, second = fake.requests
    assert second.at - first.at >= 2.0
    assert record.model == MODEL


def test_429_with_retry_after_as_an_http_date_waits_until_that_time(fake):
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    fake.inject(rate_limited(retry_after=when))
    with pytest.raises(TransientError) as caught:
        summarizer(fake).summarize(make_paper(), None, "zh")
    assert 25 < caught.value.retry_after <= 30


def test_429_without_retry_after_is_transient_without_a_delay(fake):
    fake.inject(rate_limited(retry_after=None))
    with pytest.raises(TransientError) as caught:
        summarizer(fake).summarize(make_paper(), None, "zh")
    assert caught.value.retry_after == 0.0


@pytest.mark.parametrize(
    "fault",
    [
        server_error(500),
        server_error(503),
        raw_body(502, "<html>Bad Gateway</html>"),
        raw_body(200, "<html>captive portal</html>"),
    ],
    ids=["500", "503", "502 html", "200 html"],
)
def test_5xx_and_unreadable_bodies_are_transient(fake, fault):
    fake.inject(fault)
    with pytest.raises(TransientError):
        summarizer(fake).summarize(make_paper(), None, "zh")
    assert len(fake.requests) == 1  # no retry of our own: Prefect's tasks retry


def test_timeout_is_transient(fake):
    slow = OpenAISummarizer(fake.url, MODEL, KEY, timeout=0.2)
    fake.inject(delay(2.0))
    with pytest.raises(TransientError, match="Timeout"):
        slow.summarize(make_paper(), None, "zh")


def test_refused_connection_is_transient():
    with FakeOpenAI() as closed:
        url = closed.url
    with pytest.raises(TransientError, match="ConnectError"):
        OpenAISummarizer(url, MODEL, KEY, timeout=1).summarize(make_paper(), None, "zh")


def test_other_4xx_is_a_summary_error_without_the_key(fake):
    fake.inject(client_error(400, f"Invalid request with {KEY} in it.", "invalid_value"))
    with pytest.raises(SummaryError) as caught:
        summarizer(fake).summarize(make_paper(), None, "zh")
    error = caught.value
    assert not error.transient and error.__cause__ is None
    assert "400 invalid_value: Invalid request with *** in it" in str(error)
    assert KEY not in str(pickle.loads(pickle.dumps(error)))


def test_a_refused_key_stops_the_run_without_the_key(fake):
    fake.inject(client_error(401, f"Incorrect API key provided: {KEY}.", "invalid_api_key"))
    with pytest.raises(LLMConfigError) as caught:
        summarizer(fake).summarize(make_paper(), None, "zh")
    error = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(error, LLMConfigError) and error.__cause__ is None
    assert "401 invalid_api_key: Incorrect API key provided: ***" in str(error)
    assert "OPENAI_API_KEY" in str(error) and KEY not in str(error)


def test_an_unknown_model_names_the_settings_to_check(fake):
    fake.inject(client_error(404, f"The model `{MODEL}` does not exist.", "model_not_found"))
    with pytest.raises(LLMConfigError, match=r"llm_model .DIGEST_LLM_MODEL. and DIGEST_OPENAI"):
        summarizer(fake).summarize(make_paper(), None, "zh")


def test_invalid_json_is_repaired_with_exactly_one_more_call(fake):
    fake.inject(answer('{"one_line": "本文提出了'))

    record = summarizer(fake).summarize(make_paper(), make_extraction(), "zh")

    assert len(fake.requests) == 2
    messages = fake.requests[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == '{"one_line": "本文提出了'
    assert "rejected" in messages[3]["content"] and "Invalid JSON" in messages[3]["content"]
    assert record.prompt_tokens == sum(len(r.prompt_text) // 4 for r in fake.requests)


def test_invalid_json_twice_is_a_summary_error(fake):
    fake.inject(answer("not json"), answer('{"one_line": "只有一行"}'))
    with pytest.raises(SummaryError, match="no valid summary after one repair: takeaways"):
        summarizer(fake).summarize(make_paper(), None, "zh")
    assert len(fake.requests) == 2


def test_a_reasoning_models_think_block_is_dropped(fake):
    fake.inject(answer("<think>The user wants JSON.</think>\n" + default_answer({})))
    summarizer(fake).summarize(make_paper(), None, "zh")
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "spent", [insufficient_quota(), client_error(402, "Insufficient Balance")], ids=["429", "402"]
)
def test_spent_quota_leaves_papers_waiting_without_more_calls(fake, spent):
    llm = summarizer(fake)
    fake.inject(spent)
    with pytest.raises(QuotaExhausted, match="the paper waits for the next run"):
        llm.summarize(make_paper(), None, "zh")
    with pytest.raises(QuotaExhausted, match=f"{MODEL}'s quota or balance is used up"):
        llm.summarize(paper("2410.00002"), None, "zh")
    assert len(fake.requests) == 1


def test_spent_quota_switches_to_the_fallback_model(fake):
    llm = summarizer(fake, fallback_model="deepseek-lite")
    fake.inject(insufficient_quota())
    with pytest.raises(TransientError, match="fallback"):
        llm.summarize(make_paper(), None, "zh")
    record = llm.summarize(make_paper(), None, "zh")
    assert record.model == "deepseek-lite"
    assert [r.model for r in fake.requests] == [MODEL, "deepseek-lite"]


def test_the_budget_stops_further_calls(fake):
    llm = summarizer(fake, limits={"budget_usd": 1e-9})
    llm.summarize(make_paper(), None, "zh")
    with pytest.raises(QuotaExhausted, match="budget"):
        llm.summarize(paper("2410.00002"), None, "zh")
    assert len(fake.requests) == 1


# -- the judge on the openai backend --------------------------------------------------------


def openai_judge(fake: FakeOpenAI) -> judge.OpenAIJudge:
    return judge.OpenAIJudge(fake.url, MODEL, KEY, timeout=5, quota=QuotaSettings(prices=PRICES))


def test_the_judge_batches_candidates_and_records_tokens_and_cost(fake):
    papers = day(30)
    judged = judge.judge_day(papers, keyword(papers), openai_judge(fake), TOPIC, batch_size=25)

    assert [len(r.judged_ids) for r in fake.requests] == [25, 5]
    assert all(s.kept and s.step == "judge" for s in judged.selections[:30])
    batch = judged.batches[0]
    assert (batch.model, batch.prompt_version) == (MODEL, judge.JUDGE_PROMPT_VERSION)
    assert batch.prompt_tokens == len(fake.requests[0].prompt_text) // 4
    assert batch.cost_usd == pytest.approx(
        cost_usd(PRICES, MODEL, batch.prompt_tokens, batch.output_tokens)
    )
    schema = fake.requests[0].body["messages"][0]["content"].split("schema of your answer:\n")[1]
    assert "verdicts" in json.loads(schema)["properties"]


def test_a_missing_id_is_retried_once_then_the_judge_fails(fake):
    papers = day(3)[:3]
    short = json.dumps(
        {"verdicts": [{"id": "2606.17000v1", "relevant": True, "confidence": 1, "reason": "x"}]}
    )
    fake.inject(answer(short), answer(short))
    with pytest.raises(JudgeError, match=r"missing id 2606.17001v1") as caught:
        openai_judge(fake).judge(papers, TOPIC)
    assert len(fake.requests) == 2
    assert "missing id 2606.17001v1" in fake.requests[1].body["messages"][-1]["content"]
    assert caught.value.paper == "2606.17000v1..2606.17002v1"


def test_a_spent_quota_leaves_the_decision_to_the_keywords(fake):
    papers = day(2)
    fake.inject(insufficient_quota())
    judged = judge.judge_day(papers, keyword(papers), openai_judge(fake), TOPIC)
    assert judged.failed_batches == 1
    assert "the keyword step decides" in judged.selections[0].reason


# -- choosing the backend -------------------------------------------------------------------

BASE = "http://127.0.0.1:11434/v1"


@pytest.fixture
def clean_env(monkeypatch):
    names = (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "OPENAI_API_KEY",
        "DIGEST_LLM_BACKEND",
        "DIGEST_OPENAI_BASE_URL",
        "DIGEST_LLM_JUDGE",
    )
    for name in names:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "extractive"),
        ({"openai_base_url": BASE}, "openai"),
        ({"openai_base_url": BASE, "GEMINI_API_KEY": "g"}, "gemini"),
        ({"openai_base_url": BASE, "GEMINI_API_KEY": "  "}, "openai"),
    ],
)
def test_auto_is_gemini_with_its_key_else_openai_with_a_base_url(clean_env, values, expected):
    settings = Settings(**values)
    assert settings.resolved_backend() == expected == make_summarizer(settings).name


def test_openai_settings_come_from_the_environment_and_the_key_stays_secret(clean_env, monkeypatch):
    monkeypatch.setenv("DIGEST_OPENAI_BASE_URL", BASE)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DIGEST_LLM_MODEL", MODEL)
    settings = Settings()

    summarizer = make_summarizer(settings, "openai")
    found = make_judge(settings, "openai")

    assert (summarizer.name, summarizer.model) == ("openai", MODEL)
    assert isinstance(summarizer, OpenAISummarizer) and isinstance(found, judge.OpenAIJudge)
    assert found.model == MODEL
    shown = [repr(settings), settings.model_dump_json(), repr(summarizer), repr(found)]
    assert not [text for text in shown if KEY in text]


def test_openai_without_a_base_url_says_what_to_set(clean_env):
    with pytest.raises(ConfigError) as caught:
        make_summarizer(Settings(), "openai")
    message = str(caught.value)
    assert message.startswith("DIGEST_OPENAI_BASE_URL is not set") and "\n" not in message
    assert make_judge(Settings(), "openai") is None


def test_a_base_url_without_a_scheme_is_a_config_error(clean_env):
    with pytest.raises(ConfigError, match="must start with http:// or https://"):
        make_summarizer(Settings(openai_base_url="localhost:11434/v1"), "openai")


def test_the_judge_follows_the_runs_backend(clean_env):
    both = Settings(openai_base_url=BASE, GEMINI_API_KEY="g")
    assert isinstance(make_judge(both), judge.GeminiJudge)
    assert isinstance(make_judge(both, "openai"), judge.OpenAIJudge)
    assert make_judge(both, "extractive") is None
    assert make_judge(Settings(openai_base_url=BASE, llm_judge=False), "openai") is None


def test_gemini_keeps_its_own_name_and_model(clean_env):
    gemini = GeminiSummarizer("g", "gemini-2.5-flash")
    assert (gemini.name, gemini.model, repr(gemini)) == (
        "gemini",
        "gemini-2.5-flash",
        "GeminiSummarizer(model='gemini-2.5-flash')",
    )


def test_cli_llm_openai_without_a_base_url_is_one_line(shipped_settings, monkeypatch):
    from flows.cli import app

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = CliRunner().invoke(app, ["run", "--date", "2024-10-07", "--llm", "openai"])

    assert result.exit_code == 2
    [line] = [ln for ln in result.output.splitlines() if ln.strip()]
    assert line.startswith("error: DIGEST_OPENAI_BASE_URL is not set")


# -- whole days through the daily-digest flow -----------------------------------------------

DAY = date(2024, 10, 7)
CANARY = "sk-canary-9d2e7f41b"
PAPERS = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
SMALL_DAY = ("2410.03665", "2410.03463", "2410.03456", "2410.03190", "2410.03901")


def title_of(request) -> str:
    return request.prompt_text.split("\nTitle: ", 1)[1].split("\n", 1)[0]


def day_env(arxiv: ArxivServer, fake: FakeOpenAI, data, **extra: str) -> dict[str, str]:
    return {
        **arxiv.env(),
        "DIGEST_ARXIV_MIN_INTERVAL": "0.05",
        "DIGEST_OPENAI_BASE_URL": fake.url,
        "OPENAI_API_KEY": CANARY,
        "DIGEST_LLM_MODEL": MODEL,
        "DIGEST_LLM_PRICES": json.dumps(PRICES),
        "DIGEST_LLM_RPM": "0",
        "DIGEST_DATA_DIR": str(data),
        "DIGEST_DB_PATH": str(data / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data / "posts"),
        "DIGEST_RETRY_DELAYS": "[0.1, 0.1, 0.1]",
        **extra,
    }


def invalid_json_for(title: str):
    """Return a responder that answers invalid JSON about `title` and well about the rest."""

    def respond(body: dict) -> str:
        text = "\n".join(m["content"] for m in body["messages"])
        return "{not json" if f"\nTitle: {title}\n" in text else default_answer(body)

    return respond


def run_day(env: dict[str, str]):
    """Run daily-digest for DAY as a fresh process would: fresh settings and quotas."""
    from flows.daily_digest import daily_digest

    with settings_env(env, drop=("GEMINI_API_KEY", "GOOGLE_API_KEY", "DIGEST_LLM_BACKEND")):
        reset_quotas()
        [result] = daily_digest(day=DAY, topics=["Diffusion Models"], llm="openai")
    return result


def rows(data, sql: str) -> list[tuple]:
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def whole_day(tmp_path_factory, prefect_harness):
    """Run the 12-paper day with the judge on; keep the requests and every log line."""
    data = tmp_path_factory.mktemp("openai-day")
    with ArxivServer(PAPERS, pdf_factory(PAPERS)) as arxiv, FakeOpenAI() as fake:
        with capturing() as capture:
            logging.getLogger("tasks").info("capture check")
            result = run_day(day_env(arxiv, fake, data, DIGEST_LLM_JUDGE="true"))
        yield {
            "result": result,
            "requests": list(fake.requests),
            "log": capture.lines,
            "data": data,
        }


def test_the_day_takes_one_chat_call_per_paper_and_one_judge_call(whole_day):
    requests = whole_day["requests"]
    judge_calls = [r for r in requests if r.judged_ids]
    summary_calls = [r for r in requests if not r.judged_ids]
    assert len(judge_calls) == 1 and len(judge_calls[0].judged_ids) == 12  # batches of 25
    assert len(summary_calls) == 12
    assert len({title_of(r) for r in summary_calls}) == 12
    assert {r.model for r in requests} == {MODEL}
    result = whole_day["result"]
    assert (result.fetched, result.kept, result.summarized, result.failures) == (20, 12, 12, [])


def test_summary_rows_carry_backend_model_prompt_version_language_and_tokens(whole_day):
    found = rows(
        whole_day["data"],
        "SELECT backend, model, prompt_version, language, "
        "prompt_tokens, output_tokens, cost_usd FROM summaries",
    )
    assert len(found) == 12
    for backend, model, prompt_version, language, prompt, output, cost in found:
        assert (backend, model, prompt_version, language) == ("openai", MODEL, PROMPT_VERSION, "zh")
        assert prompt > 1000 and output > 100
        assert cost == pytest.approx(cost_usd(PRICES, MODEL, prompt, output))
    steps = rows(whole_day["data"], "SELECT step, count(*) FROM selections WHERE kept GROUP BY 1")
    assert steps == [("judge", 12)]


def test_the_post_names_the_model(whole_day):
    post = Path(whole_day["result"].post).read_text(encoding="utf-8")
    assert MODEL in post and post.count("\n## ") >= 12


def test_the_key_is_sent_but_never_logged_stored_or_posted(whole_day):
    assert {r.headers["authorization"] for r in whole_day["requests"]} == {f"Bearer {CANARY}"}
    assert any("capture check" in line for line in whole_day["log"])  # the capture works
    assert any("chat/completions" in line for line in whole_day["log"])
    assert not [line for line in whole_day["log"] if CANARY in line]
    files = [p for p in whole_day["data"].rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in files) and any(p.suffix == ".md" for p in files)
    assert not [p for p in files if CANARY.encode() in p.read_bytes()]


@pytest.fixture(scope="module")
def spent_day(tmp_path_factory, prefect_harness):
    """Run a 4-paper day whose quota runs out after two summaries, then the next run.

    One call at a time (`llm_concurrency` 1), so the refused call is the third. Before the
    second run, one of the waiting papers is made to get invalid JSON every time.
    """
    data = tmp_path_factory.mktemp("openai-spent")
    papers = [p for p in PAPERS if p["arxiv_id"] in SMALL_DAY]
    with ArxivServer(papers, pdf_factory(papers)) as arxiv, FakeOpenAI() as fake:
        env = day_env(arxiv, fake, data, DIGEST_LLM_JUDGE="false", DIGEST_LLM_CONCURRENCY="1")
        fake.inject(Fault(), Fault(), insufficient_quota())
        first = run_day(env)
        first_calls = [title_of(r) for r in fake.requests]
        waiting = rows(data, "SELECT arxiv_id, reason FROM failures")
        titles = {f"{p['arxiv_id']}v{p['version']}": " ".join(p["title"].split()) for p in papers}
        bad = titles[sorted(first.waiting)[0]]
        fake.reset()
        fake.responder = invalid_json_for(bad)
        second = run_day(env)
        second_calls = [title_of(r) for r in fake.requests]
    yield {
        "first": first,
        "second": second,
        "first_calls": first_calls,
        "second_calls": second_calls,
        "waiting": waiting,
        "titles": titles,
        "bad": bad,
        "data": data,
    }


def test_a_spent_quota_leaves_the_rest_waiting(spent_day):
    first = spent_day["first"]
    assert len(spent_day["first_calls"]) == 3  # two answered, one refused, none after it
    assert (first.kept, first.summarized, len(first.waiting), first.failures) == (4, 2, 2, [])
    assert len(spent_day["waiting"]) == 2
    assert all(WAITING in reason for _, reason in spent_day["waiting"])
    assert all("quota" in reason for _, reason in spent_day["waiting"])


def test_the_next_run_asks_only_for_the_waiting_papers(spent_day):
    titles, first = spent_day["titles"], spent_day["first"]
    waiting = {titles[key] for key in first.waiting}
    done_before = set(titles.values()) - waiting - {titles["2410.03901v1"]}  # off-topic paper
    calls = spent_day["second_calls"]
    assert sorted(calls) == sorted([*waiting, spent_day["bad"]])  # the bad one and its repair
    assert not done_before & set(calls)


def test_invalid_json_twice_is_a_recorded_failure(spent_day):
    second = spent_day["second"]
    assert second.waiting == []
    [failure] = second.failures
    assert "summarize" in failure and "no valid summary after one repair" in failure
    found = rows(spent_day["data"], "SELECT stage, reason FROM failures")
    assert len(found) == 1 and found[0][0] == "summarize" and WAITING not in found[0][1]
    assert len(rows(spent_day["data"], "SELECT * FROM summaries")) == 3
