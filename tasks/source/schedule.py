"""arXiv's announcement calendar: which submissions make up the batch labelled with a date.

Submissions received 14:00 → 14:00 US Eastern are announced at 20:00 ET, Sunday to Thursday,
and the batch carries the next calendar day's label (announced Sunday 20:00 = Monday's batch).
A holiday (arXiv's list in availability.md, `holidays` in config/digest.toml) is an evening
with no announcement: the batch labelled the next day does not exist, and the cutoff of that
evening disappears with it, so its submissions fold into the next announcement's window
(Thanksgiving 2024: Wednesday 14:00 → Friday 14:00, announced Sunday, labelled Monday).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
CUTOFF = time(14, 0)
ANNOUNCEMENT = time(20, 0)
# date.weekday(): Monday is 0; announcements happen Sunday (6) to Thursday (3).
ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})
ONE_DAY = timedelta(days=1)
# No announcement for this long means the calendar (or its holiday list) is wrong.
MAX_GAP = timedelta(days=30)

Holidays = Collection[date]


@dataclass(frozen=True)
class Batch:
    """The batch labelled `label`: its submission window [start, end) and announcement, in UTC."""

    label: date
    start: datetime
    end: datetime
    announced: datetime


def announces(evening: date, holidays: Holidays = ()) -> bool:
    """Return True if arXiv announces a batch at 20:00 ET on `evening`."""
    return evening.weekday() in ANNOUNCE_WEEKDAYS and evening not in holidays


def has_batch(day: date, holidays: Holidays = ()) -> bool:
    """Return True if a batch is labelled `day` (announced the evening before)."""
    return announces(day - ONE_DAY, holidays)


def no_batch_reason(day: date, holidays: Holidays = ()) -> str | None:
    """Return why no batch is labelled `day` ("weekend" or "holiday"), None if one is."""
    evening = day - ONE_DAY
    if evening.weekday() not in ANNOUNCE_WEEKDAYS:
        return "weekend"
    if evening in holidays:
        return "holiday"
    return None


def eastern(day: date, at: time) -> datetime:
    """Return the UTC instant of wall-clock time `at` on `day` in New York."""
    return datetime.combine(day, at, tzinfo=EASTERN).astimezone(UTC)


def cutoff(evening: date) -> datetime:
    """Return the submission deadline of the announcement on `evening`.

    14:00 ET the same day, except Sunday's announcement, which closed Friday at 14:00.
    """
    closing = evening
    while closing.weekday() >= 5:
        closing -= ONE_DAY
    return eastern(closing, CUTOFF)


def previous_evening(evening: date, holidays: Holidays = ()) -> date:
    """Return the last announcement evening before `evening`."""
    return _step(evening, -ONE_DAY, lambda d: announces(d, holidays))


def batch(day: date, holidays: Holidays = ()) -> Batch | None:
    """Return the batch labelled `day`, or None when arXiv announces none (weekend, holiday).

    Its window opens at the previous announcement's cutoff and closes at its own: Monday's
    is Thursday 14:00 → Friday 14:00 and Tuesday's Friday 14:00 → Monday 14:00 ET.
    """
    evening = day - ONE_DAY
    if not announces(evening, holidays):
        return None
    start = cutoff(previous_evening(evening, holidays))
    return Batch(day, start, cutoff(evening), eastern(evening, ANNOUNCEMENT))


def batch_window(day: date, holidays: Holidays = ()) -> tuple[datetime, datetime] | None:
    """Return the UTC submission window [start, end) of the batch labelled `day`, or None."""
    found = batch(day, holidays)
    return None if found is None else (found.start, found.end)


def announced_at(day: date, holidays: Holidays = ()) -> datetime | None:
    """Return the UTC instant the batch labelled `day` is announced (20:00 ET the day before)."""
    found = batch(day, holidays)
    return None if found is None else found.announced


def latest_label(now: datetime, holidays: Holidays = ()) -> date:
    """Return the label of the newest batch announced by `now` (a tz-aware instant)."""
    if now.tzinfo is None:
        raise ValueError(f"latest_label needs a tz-aware datetime, got naive {now.isoformat()}")
    local = now.astimezone(EASTERN)
    evening = local.date() if local.time() >= ANNOUNCEMENT else local.date() - ONE_DAY
    if not announces(evening, holidays):
        evening = previous_evening(evening, holidays)
    return evening + ONE_DAY


def next_label(day: date, holidays: Holidays = ()) -> date:
    """Return the first date after `day` that has a batch."""
    return _step(day, ONE_DAY, lambda d: has_batch(d, holidays))


def previous_label(day: date, holidays: Holidays = ()) -> date:
    """Return the last date before `day` that has a batch."""
    return _step(day, -ONE_DAY, lambda d: has_batch(d, holidays))


def _step(origin: date, step: timedelta, found: Callable[[date], bool]) -> date:
    day = origin
    for _ in range(MAX_GAP.days):
        day += step
        if found(day):
            return day
    raise ValueError(
        f"no arXiv announcement within {MAX_GAP.days} days of {origin}; check the holidays"
    )


def describe(day: date, holidays: Holidays = ()) -> str:
    """Return, for a person, the batch labelled `day` (or why there is none) and the next one."""
    found = batch(day, holidays)
    upcoming = _batch(next_label(day, holidays), holidays)
    if found is None:
        evening = day - ONE_DAY
        why = no_batch_reason(day, holidays)
        lines = [
            f"{_day(day)}: no batch ({why}: no announcement on {evening:%A} {evening})",
            f"next batch: {_day(upcoming.label)}",
            *_batch_lines(upcoming),
        ]
    else:
        lines = [f"{_day(day)}: batch {day.isoformat()}", *_batch_lines(found)]
        lines.append(f"  next batch:  {_day(upcoming.label)}")
    return "\n".join(lines)


def _batch(day: date, holidays: Holidays) -> Batch:
    found = batch(day, holidays)
    if found is None:
        raise ValueError(f"arXiv announces no batch labelled {day}")
    return found


def _batch_lines(found: Batch) -> list[str]:
    start, end = found.start.astimezone(EASTERN), found.end.astimezone(EASTERN)
    zones = f"{start.tzname()} → {end.tzname()}"
    if start.tzname() == end.tzname():
        zones = str(start.tzname())
    said = found.announced.astimezone(EASTERN)
    return [
        f"  submissions: {_at(start)} → {_at(end)} ET ({start:%a} → {end:%a}; {zones})",
        f"               {_at(found.start)} → {_at(found.end)} UTC",
        f"  announced:   {_at(said)} ET ({said:%a}; {said.tzname()}) = {_at(found.announced)} UTC",
    ]


def _day(day: date) -> str:
    return f"{day.isoformat()} ({day:%a})"


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def no_batch_note(day: date, holidays: Holidays = ()) -> str:
    """Return why no batch is labelled `day` and which is next, or "" if one is."""
    reason = no_batch_reason(day, holidays)
    if not reason:
        return ""
    following = next_label(day, holidays)
    return f"arXiv announces no batch labelled {day} ({reason}); the next is {following}"
