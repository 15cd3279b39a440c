"""The run's configuration and the services built from it, where a task runs."""

from __future__ import annotations

import pickle

import pytest

from config import secrets
from config.errors import ConfigError
from config.settings import Settings
from tasks import cache_keys, services
from tasks.relevance.judge import GeminiJudge, OpenAIJudge
from tasks.stage_config import llm_config, stage_config
from tasks.summary.summarizer import ExtractiveSummarizer, GeminiSummarizer, OpenAISummarizer
from tests.factories import paper

KEY = "AIzaSy-services-canary-0123456789"
HOOK = "json://digest:hook-canary-secret@hooks.example.org/"


def test_the_stage_config_is_picklable_and_holds_no_secret():
    settings = Settings(GEMINI_API_KEY=KEY, notify_urls=[HOOK], openai_api_key="sk-canary")
    config = stage_config(settings)
    again = pickle.loads(pickle.dumps(config))
    assert again == config and config.llm.backend == "gemini"
    for shown in (repr(config), pickle.dumps(config).decode("latin-1")):
        assert KEY not in shown and "hook-canary" not in shown and "sk-canary" not in shown
    kept = secrets.of(settings)
    assert kept.gemini_api_key == KEY and kept.notify_urls == (HOOK,)
    assert KEY not in repr(kept)


def test_auto_resolves_to_one_backend_and_an_unknown_one_is_refused():
    assert llm_config(Settings(GEMINI_API_KEY="")).backend == "extractive"
    assert llm_config(Settings(GEMINI_API_KEY=KEY)).backend == "gemini"
    assert (
        llm_config(Settings(GEMINI_API_KEY="", openai_base_url="http://x/v1")).backend == "openai"
    )
    with pytest.raises(ConfigError, match="unknown LLM backend 'claude'"):
        llm_config(Settings(), "claude")


def test_the_extractive_backend_is_keyed_by_its_own_version_not_the_llm_model():
    offline = llm_config(Settings(llm_model="gemini-3.5-flash-lite"), "extractive")
    assert offline.model == ExtractiveSummarizer.model
    assert llm_config(Settings(llm_model="other"), "extractive") == offline


def test_the_composition_root_builds_each_backend_with_the_keys_of_its_side():
    keys = secrets.Secrets(gemini_api_key=KEY)
    gemini, openai = (
        llm_config(Settings(), "gemini"),
        llm_config(Settings(openai_base_url="http://127.0.0.1:9/v1"), "openai"),
    )
    assert isinstance(services.summarizer(gemini, keys), GeminiSummarizer)
    assert isinstance(services.judge(gemini, keys), GeminiJudge)
    assert isinstance(services.summarizer(openai, keys), OpenAISummarizer)
    assert isinstance(services.judge(openai, keys), OpenAIJudge)
    offline = llm_config(Settings(), "extractive")
    assert isinstance(services.summarizer(offline, keys), ExtractiveSummarizer)
    assert services.judge(offline, keys) is None
    assert services.judge(gemini, secrets.Secrets()) is None  # no key: the keywords decide
    assert services.has_judge(gemini, keys) and services.has_judge(openai, secrets.Secrets())
    assert not services.has_judge(gemini, secrets.Secrets()) and not services.has_judge(offline)
    with pytest.raises(ConfigError, match="GEMINI_API_KEY is not set"):
        services.summarizer(gemini, secrets.Secrets())


def test_cache_keys_name_what_decides_a_result_not_the_whole_configuration():
    config = stage_config(Settings(GEMINI_API_KEY=KEY))
    busier = stage_config(Settings(GEMINI_API_KEY=KEY, llm_concurrency=1, llm_timeout=5))
    one = paper()
    assert cache_keys.download(one, config) == cache_keys.download(one, busier)
    assert cache_keys.summarize(one, None, "zh", config.llm) == cache_keys.summarize(
        one, None, "zh", busier.llm
    )
    other = stage_config(Settings(GEMINI_API_KEY=KEY, llm_model="gemini-3.8-flash"))
    assert cache_keys.summarize(one, None, "zh", config.llm) != cache_keys.summarize(
        one, None, "zh", other.llm
    )
    fewer = stage_config(Settings(max_figures=1))
    assert cache_keys.extract(one.key, one, config) != cache_keys.extract(one.key, one, fewer)
