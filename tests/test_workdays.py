"""Working days and the divorce cooling-off timeline (民法典 第1077条, 第201条, 第203条)."""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from bot import workdays


@pytest.mark.parametrize("day,expected", [
    (date(2026, 11, 25), True),   # Wednesday
    (date(2026, 11, 28), False),  # Saturday
    (date(2026, 10, 1), False),   # National Day
    (date(2026, 10, 10), True),   # Saturday worked in lieu (调休)
    (date(2026, 2, 14), True),    # Saturday worked in lieu before the Spring Festival
    (date(2026, 2, 17), False),   # Spring Festival
    (date(2027, 1, 1), False),    # schedule not published: the law's New Year's Day still counts
    (date(2027, 2, 8), False),    # 2027 初三 (lunar calendar)
    (date(2027, 2, 9), True),     # the day after: a Tuesday, no published bridge day
])
def test_is_workday(day, expected):
    assert workdays.is_workday(day) is expected


def test_statutory_holidays_agree_with_the_published_schedule():
    for year in range(2025, 2027):
        for d in workdays.statutory_holidays(year):
            assert chinese_calendar.is_holiday(d), d
        assert len(workdays.statutory_holidays(year)) == 13


def test_qixi():
    assert workdays.qixi(2026) == date(2026, 8, 19)
    assert workdays.qixi(2027) == date(2027, 8, 8)


def test_plain_timeline():
    t = workdays.divorce_timeline(date(2026, 1, 5))
    assert t.cooling_off.start == date(2026, 1, 6)  # counted from the day after acceptance
    assert t.cooling_off.end == date(2026, 2, 4) and not t.cooling_off.moved
    assert t.collection.start == date(2026, 2, 5)
    assert t.collection.end == date(2026, 3, 6)
    assert t.schedule_known


def test_deadline_on_a_holiday_moves_to_the_next_working_day():
    t = workdays.divorce_timeline(date(2026, 9, 1))
    assert t.cooling_off.nominal_end == date(2026, 10, 1)
    assert t.cooling_off.end == date(2026, 10, 8) and t.cooling_off.moved  # after the National Day week
    # the collection period follows the (moved) end of the cooling-off period
    assert t.collection.start == date(2026, 10, 9)
    assert t.collection.nominal_end == date(2026, 11, 7)  # a Saturday
    assert t.collection.end == date(2026, 11, 9)


def test_deadline_on_a_weekend_moves_to_monday():
    t = workdays.divorce_timeline(date(2026, 3, 16))
    assert t.cooling_off.nominal_end == date(2026, 4, 15)
    t = workdays.divorce_timeline(date(2026, 3, 20))
    assert t.cooling_off.nominal_end == date(2026, 4, 19)  # Sunday
    assert t.cooling_off.end == date(2026, 4, 20)


@pytest.mark.parametrize("accepted,nominal", [
    (date(2028, 2, 10), date(2028, 3, 11)),  # leap year: 29 February is counted
    (date(2027, 2, 10), date(2027, 3, 12)),
    (date(2028, 1, 30), date(2028, 2, 29)),  # ends on the leap day itself
    (date(2028, 2, 29), date(2028, 3, 30)),  # accepted on the leap day
])
def test_leap_days(accepted, nominal):
    t = workdays.divorce_timeline(accepted)
    assert t.cooling_off.nominal_end == nominal
    assert (t.cooling_off.nominal_end - t.cooling_off.start).days == 29  # 30 days inclusive
    assert t.cooling_off.end >= nominal and workdays.is_workday(t.cooling_off.end)
    assert not t.schedule_known  # 2027/2028 schedules are not published yet


def test_unknown_year_still_skips_the_fixed_holidays():
    t = workdays.divorce_timeline(date(2026, 12, 2))
    assert t.cooling_off.nominal_end == date(2027, 1, 1)
    assert t.cooling_off.end == date(2027, 1, 4)  # New Year's Day (Fri), then the weekend
    assert not t.cooling_off.schedule_known


def test_every_end_is_a_working_day_and_never_early():
    day = date(2026, 1, 1)
    while day < date(2026, 12, 31):
        t = workdays.divorce_timeline(day)
        for p in (t.cooling_off, t.collection):
            assert workdays.is_workday(p.end)
            assert p.end >= p.nominal_end
            assert all(not workdays.is_workday(p.nominal_end + timedelta(days=i))
                       for i in range((p.end - p.nominal_end).days))
        day += timedelta(days=1)


def test_format_day():
    assert workdays.format_day(date(2026, 10, 8)) == "2026年10月8日（周四）"
