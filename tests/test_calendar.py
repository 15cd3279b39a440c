from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasks.calendar import (
    EASTERN,
    announced_at,
    batch_window,
    has_batch,
    latest_label,
    next_label,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def et(*args: int) -> datetime:
    return datetime(*args, tzinfo=EASTERN)


def test_reference_day_window_is_thursday_to_friday_14_00_eastern():
    assert batch_window(date(2024, 10, 7)) == (utc(2024, 10, 3, 18), utc(2024, 10, 4, 18))


def test_reference_paper_submitted_a_minute_before_cutoff_is_in_mondays_batch():
    start, end = batch_window(date(2024, 10, 7))
    assert start <= utc(2024, 10, 4, 17, 59) < end


@pytest.mark.parametrize(
    ("label", "opens", "closes"),
    [
        (date(2024, 10, 7), et(2024, 10, 3, 14), et(2024, 10, 4, 14)),  # Mon: Thu → Fri
        (date(2024, 10, 8), et(2024, 10, 4, 14), et(2024, 10, 7, 14)),  # Tue: Fri → Mon
        (date(2024, 10, 9), et(2024, 10, 7, 14), et(2024, 10, 8, 14)),  # Wed: Mon → Tue
        (date(2024, 10, 10), et(2024, 10, 8, 14), et(2024, 10, 9, 14)),  # Thu: Tue → Wed
        (date(2024, 10, 11), et(2024, 10, 9, 14), et(2024, 10, 10, 14)),  # Fri: Wed → Thu
    ],
)
def test_each_weekday_label_maps_to_its_window(label, opens, closes):
    assert batch_window(label) == (opens, closes)


@pytest.mark.parametrize("label", [date(2024, 10, 5), date(2024, 10, 6)])
def test_weekends_have_no_batch(label):
    assert batch_window(label) is None
    assert announced_at(label) is None


def test_window_spanning_the_autumn_dst_change_lasts_an_extra_hour():
    # Clocks went back on Sunday 2024-11-03: Friday 14:00 EDT → Monday 14:00 EST.
    start, end = batch_window(date(2024, 11, 5))
    assert (start, end) == (utc(2024, 11, 1, 18), utc(2024, 11, 4, 19))
    assert end - start == timedelta(hours=73)


def test_window_spanning_the_spring_dst_change():
    # Clocks went forward on Sunday 2024-03-10.
    assert batch_window(date(2024, 3, 11)) == (utc(2024, 3, 7, 19), utc(2024, 3, 8, 19))
    assert batch_window(date(2024, 3, 12)) == (utc(2024, 3, 8, 19), utc(2024, 3, 11, 18))


def test_consecutive_windows_tile_time_without_gap_or_overlap():
    day = date(2023, 1, 2)
    while day < date(2027, 1, 1):
        start, end = batch_window(day)
        assert start < end
        assert batch_window(next_label(day))[0] == end
        day = next_label(day)


@pytest.mark.parametrize(
    ("now", "label"),
    [
        (et(2024, 10, 6, 19, 59), date(2024, 10, 4)),  # Sunday before the announcement
        (et(2024, 10, 6, 20, 0), date(2024, 10, 7)),  # Sunday 20:00 announces Monday's
        (et(2024, 10, 7, 9, 0), date(2024, 10, 7)),
        (et(2024, 10, 7, 20, 30), date(2024, 10, 8)),
        (et(2024, 10, 10, 20, 0), date(2024, 10, 11)),  # Thursday announces Friday's
        (et(2024, 10, 11, 21, 0), date(2024, 10, 11)),  # no announcement on Friday
        (et(2024, 10, 12, 12, 0), date(2024, 10, 11)),
        (utc(2024, 10, 7, 0, 1), date(2024, 10, 7)),  # 20:01 EDT on Sunday
    ],
)
def test_latest_label(now, label):
    assert latest_label(now) == label


def test_latest_label_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="tz-aware"):
        latest_label(datetime(2024, 10, 7, 12))


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
def test_latest_label_is_the_newest_batch_announced_by_now(naive):
    now = naive.replace(tzinfo=UTC)
    label = latest_label(now)
    assert has_batch(label)
    assert batch_window(label)[1] < announced_at(label) <= now < announced_at(next_label(label))
