"""arXiv's announcement calendar: which submissions make up the batch labelled with a date.

Submissions received 14:00 → 14:00 US Eastern are announced at 20:00 ET, Sunday to Thursday,
and the batch carries the next calendar day's label (announced Sunday 20:00 = Monday's batch).
Holiday closures are not modelled yet.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
CUTOFF = time(14, 0)
ANNOUNCEMENT = time(20, 0)
# date.weekday(): Monday is 0; announcements happen Sunday (6) to Thursday (3).
ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})


def has_batch(day: date) -> bool:
    """Return True if a batch is labelled `day` (Monday to Friday)."""
    return day.weekday() < 5


def previous_weekday(day: date) -> date:
    """Return the last Monday-to-Friday date before `day`."""
    day -= timedelta(days=1)
    while not has_batch(day):
        day -= timedelta(days=1)
    return day


def eastern(day: date, at: time) -> datetime:
    """Return the UTC instant of wall-clock time `at` on `day` in New York."""
    return datetime.combine(day, at, tzinfo=EASTERN).astimezone(UTC)


def batch_window(day: date) -> tuple[datetime, datetime] | None:
    """Return the UTC submission window [start, end) of the batch labelled `day`.

    The window closes at 14:00 ET on the weekday before the label and opens at 14:00 ET on
    the weekday before that: Monday's batch is Thursday 14:00 → Friday 14:00, Tuesday's is
    Friday 14:00 → Monday 14:00. Weekends have no batch (None).
    """
    if not has_batch(day):
        return None
    closes = previous_weekday(day)
    return eastern(previous_weekday(closes), CUTOFF), eastern(closes, CUTOFF)


def announced_at(day: date) -> datetime | None:
    """Return the UTC instant the batch labelled `day` is announced (20:00 ET the day before)."""
    if not has_batch(day):
        return None
    return eastern(day - timedelta(days=1), ANNOUNCEMENT)


def latest_label(now: datetime) -> date:
    """Return the label of the newest batch announced by `now` (a tz-aware instant)."""
    if now.tzinfo is None:
        raise ValueError(f"latest_label needs a tz-aware datetime, got naive {now.isoformat()}")
    local = now.astimezone(EASTERN)
    announced = local.date() if local.time() >= ANNOUNCEMENT else local.date() - timedelta(days=1)
    while announced.weekday() not in ANNOUNCE_WEEKDAYS:
        announced -= timedelta(days=1)
    return announced + timedelta(days=1)


def next_label(day: date) -> date:
    """Return the first date after `day` that has a batch."""
    day += timedelta(days=1)
    while not has_batch(day):
        day += timedelta(days=1)
    return day
