import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.settings import Settings
from tasks.source.schedule import (
    EASTERN,
    announced_at,
    batch,
    batch_window,
    describe,
    has_batch,
    latest_label,
    next_label,
    no_batch_reason,
    previous_label,
)

HOLIDAYS = Settings().holidays  # the list shipped in config/digest.toml


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


def test_shipped_holidays_cover_2024_to_2026_from_arxivs_page():
    assert {d.year for d in HOLIDAYS} == {2024, 2025, 2026}
    assert date(2024, 11, 28) in HOLIDAYS and date(2026, 12, 31) in HOLIDAYS


def test_thanksgiving_folds_thursday_into_mondays_batch():
    # No announcement on Thursday 2024-11-28: no Friday batch; Monday's opens Wednesday 14:00.
    assert batch_window(date(2024, 11, 29), HOLIDAYS) is None
    assert no_batch_reason(date(2024, 11, 29), HOLIDAYS) == "holiday"
    assert batch_window(date(2024, 12, 2), HOLIDAYS) == (et(2024, 11, 27, 14), et(2024, 11, 29, 14))
    assert next_label(date(2024, 11, 28), HOLIDAYS) == date(2024, 12, 2)


def test_sunday_holiday_folds_the_weekend_into_tuesdays_batch():
    # 2025-07-06 (Sunday): no Monday batch; Tuesday's runs Thursday 14:00 → Monday 14:00.
    assert not has_batch(date(2025, 7, 7), HOLIDAYS)
    assert batch_window(date(2025, 7, 8), HOLIDAYS) == (et(2025, 7, 3, 14), et(2025, 7, 7, 14))
    assert announced_at(date(2025, 7, 8), HOLIDAYS) == et(2025, 7, 7, 20)


def test_friday_holidays_change_no_window():
    friday = date(2026, 6, 19)
    assert friday in HOLIDAYS
    for label in (date(2026, 6, 19), date(2026, 6, 22), date(2026, 6, 23)):
        assert batch_window(label, HOLIDAYS) == batch_window(label)


def test_latest_label_skips_holiday_evenings():
    # Thanksgiving evening 2024 announces nothing: Thursday's batch is still the newest.
    assert latest_label(et(2024, 11, 28, 21), HOLIDAYS) == date(2024, 11, 28)
    assert latest_label(et(2024, 12, 1, 20), HOLIDAYS) == date(2024, 12, 2)
    assert previous_label(date(2024, 12, 2), HOLIDAYS) == date(2024, 11, 28)


def test_batch_carries_label_window_and_announcement():
    found = batch(date(2024, 10, 7))
    assert (found.label, found.start, found.end) == (
        date(2024, 10, 7),
        utc(2024, 10, 3, 18),
        utc(2024, 10, 4, 18),
    )
    assert found.announced == et(2024, 10, 6, 20)


def test_describe_a_saturday_names_the_reason_and_the_next_batch():
    text = describe(date(2024, 10, 5))
    assert "no batch (weekend: no announcement on Friday 2024-10-04)" in text
    assert "next batch: 2024-10-07 (Mon)" in text
    assert "2024-10-03 14:00 → 2024-10-04 14:00 ET" in text


holiday_sets = st.sets(st.dates(date(2023, 1, 1), date(2027, 1, 1)), max_size=40)


@given(holiday_sets, st.dates(date(2023, 1, 2), date(2026, 10, 1)))
def test_windows_tile_time_with_holidays(holidays, first):
    """Consecutive batches share their boundary, whatever the holidays, for a few months."""
    label = next_label(first, holidays)
    for _ in range(60):
        start, end = batch_window(label, holidays)
        assert start < end <= announced_at(label, holidays)
        following = next_label(label, holidays)
        assert batch_window(following, holidays)[0] == end
        assert all(not has_batch(d, holidays) for d in _between(label, following))
        label = following


def test_every_instant_belongs_to_exactly_one_window_across_years():
    day, moments = date(2023, 1, 2), []
    while day < date(2027, 1, 1):
        start, end = batch_window(day, HOLIDAYS)
        moments.append((start, end))
        day = next_label(day, HOLIDAYS)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(moments))


def _between(a: date, b: date) -> list[date]:
    return [a + timedelta(days=n) for n in range(1, (b - a).days)]
