"""`arxiv-digest notify`: send a stored day to the notify URLs again, on purpose.

The message is read from DuckDB alone (no fetch, no LLM), and it goes to every channel,
including those that already got it. Each channel gets one attempt; a failure is recorded
and printed, and the command exits 1.
"""

from __future__ import annotations

from datetime import date

import typer

from config import secrets
from config.loading import get_settings
from config.secrets import Secrets
from config.settings import Topic
from tasks.post.notify import DeliveryError, TransientDeliveryError
from tasks.record import deliveries
from tasks.stage_config import StageConfig, stage_config

NOTHING = "nothing to send: no post stored for this day (notify_empty sends days without one)"


def resend(day: date, topics: list[str] | None) -> bool:
    """Send `day` of each topic (default: all) to its channels; return False if any failed."""
    settings = get_settings()
    if not settings.db_path.exists():
        typer.echo(f"no database at {settings.db_path}; run `arxiv-digest run` first")
        return False
    chosen = [settings.topic(name) for name in topics] if topics else settings.topics
    config, keys = stage_config(settings), secrets.of(settings)
    ok = True
    for topic in chosen:
        found = deliveries.channels(keys, topic)
        if not found:
            typer.echo(f"{topic.name} {day}: no notify URL (set DIGEST_NOTIFY_URLS)")
            ok = False
            continue
        if deliveries.load_digest(config, topic, day) is None:
            typer.echo(f"{topic.name} {day}: {NOTHING}")
            continue
        for channel in found:
            ok = _send(config, keys, topic, day, channel) and ok
    return ok


def _send(
    config: StageConfig, keys: Secrets, topic: Topic, day: date, channel: deliveries.Channel
) -> bool:
    """Send to one channel; print what became of it."""
    try:
        sent = deliveries.send(config, keys, topic, day, channel.index)
    except (DeliveryError, TransientDeliveryError) as exc:
        typer.echo(f"{topic.name} {day}: {channel.shown}: failed: {exc.message}")
        return False
    if sent.status == deliveries.SENT:
        typer.echo(f"{topic.name} {day}: {channel.shown}: sent ({sent.papers} papers)")
    return True
