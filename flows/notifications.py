"""Each finished day to its notify channels, once per channel; a failed channel only warns."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from prefect import get_run_logger

from config.loading import get_settings
from config.secrets import load as load_secrets
from config.settings import Topic
from tasks import stages
from tasks.errors import ConfigError
from tasks.post.notify import channel as notify_channel
from tasks.record import deliveries

if TYPE_CHECKING:
    from flows.results import TopicResult


def send_notifications(steps: stages.Stages, results: list[TopicResult]) -> None:
    """Send each topic's stored day to its channels; a failed channel is only a warning."""
    settings, logger = get_settings(), get_run_logger()
    for r in results:
        if r.unavailable:  # the day is not finished: its message waits for the run that is
            continue
        for failure in notify_day(steps, settings.topic(r.topic), r.day):
            logger.warning("%s %s: notification failed: %s", r.topic, r.day, failure)


def notify_day(steps: stages.Stages, topic: Topic, day: date) -> list[str]:
    """Send `topic`'s day to every channel that has not got it; return the failures.

    A failed channel fails neither the day nor the other channels: it is recorded, and the
    next run tries it again.
    """
    config = steps.config
    done = deliveries.sent_before(config.db_path, topic.name, day)
    failed = []
    for index, url in enumerate(load_secrets().urls(topic), 1):
        try:
            found = notify_channel(url, index)
        except ConfigError as exc:  # one unreadable URL leaves the others their message
            failed.append(exc.message)
            continue
        if found.fingerprint in done:
            continue
        state = steps.notify(config, topic, day, found.index, return_state=True)
        if not state.is_completed():
            failed.append(f"{found.shown}: {state.result(raise_on_failure=False)}")
    return failed
