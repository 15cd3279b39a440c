"""The run's secrets: API keys and notify URLs, kept out of every configuration a task gets.

A stage's configuration is a task parameter (recorded by Prefect, hashed into cache keys), so
what it must not show is read here, on the side where the task runs: a Dask worker reads its
own environment and configuration file, never a value handed over by the flow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings, Topic


def reveal(value: Any) -> str:
    """Return a SecretStr setting's value, stripped; empty when unset."""
    return value.get_secret_value().strip() if value else ""


@dataclass(frozen=True)
class Secrets:
    """API keys and the global notify URLs; never printed (see `__repr__`)."""

    gemini_api_key: str = ""
    openai_api_key: str = ""
    notify_urls: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return "Secrets(…)"

    def urls(self, topic: Topic) -> list[str]:
        """Return the Apprise URLs of `topic`: the global ones, then the topic's own."""
        found: Iterable[str] = [*self.notify_urls, *map(reveal, topic.notify_urls)]
        return list(dict.fromkeys(u.strip() for u in found if u.strip()))


def of(settings: Settings) -> Secrets:
    """Return the secrets `settings` hold."""
    return Secrets(
        reveal(settings.gemini_api_key),
        reveal(settings.openai_api_key),
        tuple(map(reveal, settings.notify_urls)),
    )


def load() -> Secrets:
    """Return this process's secrets, from its environment and configuration file."""
    from config.loading import get_settings

    return of(get_settings())
