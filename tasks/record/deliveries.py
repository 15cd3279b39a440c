"""Which channels got which day: the day's message read from DuckDB, and each delivery recorded.

A channel that got a topic's day never gets it again from a run, a backfill or a resumed
run; `arxiv-digest notify` sends it again on purpose. A failed channel is tried again by
the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from config.secrets import Secrets
from config.settings import Topic
from tasks.post import notify
from tasks.post.notify import Channel, Digest, Item
from tasks.record import store, views
from tasks.stage_config import StageConfig

SENT, FAILED = "sent", "failed"


@dataclass(frozen=True)
class Delivery:
    """What became of one channel's message for a topic and day."""

    topic: str
    day: date
    channel: str
    service: str
    status: str
    reason: str = ""
    attempts: int = 1
    papers: int = 0


def channels(keys: Secrets, topic: Topic) -> list[Channel]:
    """Return the channels of `topic`, numbered from 1 in the order they are configured."""
    return [notify.channel(url, n) for n, url in enumerate(keys.urls(topic), 1)]


def load_digest(config: StageConfig, topic: Topic, day: date) -> Digest | None:
    """Return the message for `topic`'s `day`, or None when there is nothing to send.

    Nothing is sent for a day left open (arXiv listed nothing yet), nor for a day with no
    post unless `notify_empty` is set.
    """
    post = config.post
    if not config.db_path.exists():
        return None
    with store.connect(config.db_path, read_only=True) as con:
        record = views.load_digest(con, topic.name, day)
        if record is None or record.status == "unavailable":
            return None
        path, note = record.path, record.note
        if not path:
            return Digest(topic.name, day, (), note=note) if post.notify_empty else None
        shown = views.load_day(con, topic.name, day, topic.language, post.updated_papers)
    items = tuple(
        Item(
            v.paper.title,
            v.summary.summary.one_line if v.summary else "",
            f"https://arxiv.org/abs/{v.paper.arxiv_id}v{v.paper.version}",
        )
        for v in shown
    )
    link = notify.post_url(post.site_url, post.post_url_format, day, Path(path).stem)
    return Digest(topic.name, day, items, link)


def sent_before(db_path: Path, topic: str, day: date) -> set[str]:
    """Return the channels (by hash) that already got `topic`'s `day`."""
    if not db_path.exists():
        return set()
    with store.connect(db_path, read_only=True) as con:
        sent = con.execute(
            "SELECT channel FROM deliveries WHERE topic = ? AND day = ? AND status = ?",
            [topic, day, SENT],
        ).fetchall()
    return {channel for (channel,) in sent}


def save_delivery(con: duckdb.DuckDBPyConnection, d: Delivery) -> None:
    """Record what became of one channel's message; the latest attempt wins."""
    con.execute(
        "INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            d.topic,
            d.day,
            d.channel,
            d.service,
            d.status,
            d.reason,
            d.attempts,
            d.papers,
            datetime.now(UTC),
        ],
    )


def record(db_path: Path, delivery: Delivery) -> Delivery:
    """Write one delivery to DuckDB at once, so a crash after sending cannot send it again."""
    with store.connect(db_path) as con:
        save_delivery(con, delivery)
    return delivery


def send(
    config: StageConfig, keys: Secrets, topic: Topic, day: date, index: int, attempt: int = 1
) -> Delivery:
    """Send `topic`'s `day` to its `index`th channel and record the outcome.

    A refusal is recorded, then raised (DeliveryError, or TransientDeliveryError for Prefect's
    retries to take up).
    """
    url = keys.urls(topic)[index - 1]
    found, digest = notify.channel(url, index), load_digest(config, topic, day)
    if digest is None:
        return Delivery(topic.name, day, found.fingerprint, found.service, "nothing", "", 0)
    papers = len(digest.items)
    try:
        notify.deliver(url, index, digest)
    except (notify.DeliveryError, notify.TransientDeliveryError) as exc:
        record(
            config.db_path,
            Delivery(
                topic.name,
                day,
                found.fingerprint,
                found.service,
                FAILED,
                exc.message,
                attempt,
                papers,
            ),
        )
        raise
    return record(
        config.db_path,
        Delivery(topic.name, day, found.fingerprint, found.service, SENT, "", attempt, papers),
    )


def delivered(db_path: Path, topic: str, day: date) -> list[tuple]:
    """Return (service, status, reason, attempts, papers) of every channel for `topic`'s day."""
    with store.connect(db_path, read_only=True) as con:
        return con.execute(
            "SELECT service, status, reason, attempts, papers FROM deliveries "
            "WHERE topic = ? AND day = ? ORDER BY service, channel",
            [topic, day],
        ).fetchall()
