"""Which models the LLM service serves now: asked once a day, cached, checked before any paper.

Models are retired on the services' schedules (Google's deprecations page; a shut-down model
answers 404 NOT_FOUND, or is routed to another one). A run that names one would fail every
paper alike, so it stops first, with one line saying what to set. The answer is cached per
backend, base URL and UTC day under the data directory; the cache never holds the key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path

from config.secrets import Secrets
from config.settings import LLM_BACKENDS
from tasks import services
from tasks.errors import LLMConfigError
from tasks.llm.chat import Refusal
from tasks.stage_config import LLMConfig

log = logging.getLogger(__name__)

GEMINI_URL = "https://generativelanguage.googleapis.com"
SUGGESTIONS = 5  # served models named when the configured one is not served
UNSTABLE = {"latest", "preview", "exp"}  # aliases and previews: named after stable models


def check_served(
    llm: LLMConfig, cache_dir: Path, keys: Secrets | None = None, today: date | None = None
) -> list[str]:
    """Raise LLMConfigError unless the service serves every configured model.

    Return the served models (empty for the extractive backend, or when the service gave no
    list: then the calls themselves tell). A model missing from today's cached list is looked
    up once more, in case the service launched it since.
    """
    if llm.backend not in LLM_BACKENDS:
        return []
    served = served_models(llm, cache_dir, keys, today)
    if _missing(llm, served):
        served = served_models(llm, cache_dir, keys, today, fresh=True)
    for setting, model in _missing(llm, served).items():
        raise LLMConfigError(not_served(llm.backend, model, setting, served))
    return served


def _missing(llm: LLMConfig, served: list[str]) -> dict[str, str]:
    """Return the configured models (by setting) that `served` lacks; none without a list."""
    configured = {"llm_model": llm.model, "llm_fallback_model": llm.fallback_model}
    return {
        setting: model
        for setting, model in configured.items()
        if served and model and model.removeprefix("models/") not in served
    }


def not_served(backend: str, model: str, setting: str, served: list[str]) -> str:
    """Return the one line saying that `model` is not served and what to set instead."""
    label = "Gemini" if backend == "gemini" else "the OpenAI-compatible endpoint"
    family = same_family(model, served) or sorted(served)[:SUGGESTIONS]
    return (
        f"{label} does not serve {model!r} (set by {setting} / DIGEST_{setting.upper()}); "
        f"models it serves now: {', '.join(family)}"
    )


def same_family(model: str, served: list[str], count: int = SUGGESTIONS) -> list[str]:
    """Return up to `count` served models nearest `model`: same maker, most words in common."""
    head, words = _head(model), _words(model)
    kin = sorted((m for m in served if _head(m) == head), reverse=True)  # newest first
    kin.sort(
        key=lambda m: (-len(words & _words(m)), bool(_words(m) & UNSTABLE), len(_words(m) - words))
    )
    return kin[:count]


def _head(model: str) -> str:
    return re.split(r"[-:/]", model.lower().removeprefix("models/"), maxsplit=1)[0]


def _words(model: str) -> set[str]:
    return set(re.findall(r"[a-z]+", model.lower().removeprefix("models/")))


def served_models(
    llm: LLMConfig,
    cache_dir: Path,
    keys: Secrets | None = None,
    today: date | None = None,
    fresh: bool = False,
) -> list[str]:
    """Return the models the service serves, from today's cache file or (`fresh`) by asking."""
    backend, base_url = llm.backend, _base_url(llm)
    path = cache_path(cache_dir, backend, base_url, today or datetime.now(UTC).date())
    if path.exists() and not fresh:
        return list(json.loads(path.read_text(encoding="utf-8"))["models"])
    try:
        models = services.transport(llm, keys).list_models()
    except Refusal as refusal:
        if refusal.kind == "config":
            raise LLMConfigError(refusal.message) from None
        log.warning("%s; the configured models are not checked", refusal.message)
        return []
    record = {"backend": backend, "base_url": base_url, "date": path.stem[-10:], "models": models}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=1), encoding="utf-8")
    temporary.replace(path)
    return models


def cache_path(cache_dir: Path, backend: str, base_url: str, day: date) -> Path:
    """Return the file that holds `backend`'s model list at `base_url` for `day`."""
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:12]
    return cache_dir / "models" / f"{backend}-{digest}-{day.isoformat()}.json"


def _base_url(llm: LLMConfig) -> str:
    return (llm.gemini_base_url or GEMINI_URL) if llm.backend == "gemini" else llm.openai_base_url
