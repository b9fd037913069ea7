"""Working days and legal periods in mainland China.

Public holidays and the adjusted working days (调休) come from the
``chinesecalendar`` package, which carries the State Council's yearly schedules
(through 2026 in version 1.11.0). For a year whose schedule it does not know yet,
only weekends count as rest days and ``schedule_known`` is False, so callers can
tell the citizen that the dates may still move.

For such a year the statutory holidays themselves are still known from the
全国年节及纪念日放假办法 (as revised by 国务院令第795号, from 2025): 元旦 1 day, 春节 4
days (除夕 to 初三), 清明 1, 劳动节 2 (May 1-2), 端午 1, 中秋 1, 国庆 3 (Oct 1-3); they
count as rest days, only the extra bridge days and the weekend days worked in lieu
are unknown.

Periods follow the Civil Code (民法典): a period counted in days starts on the day
after the event (第201条), and when its last day is a statutory rest day the
period ends on the first working day after it (第203条).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from typing import Optional

import chinese_calendar
from lunardate import LunarDate


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset:
    """The holidays fixed by law for ``year`` (without bridge days)."""
    days = {date(year, 1, 1), date(year, 5, 1), date(year, 5, 2),
            date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)}
    new_year = LunarDate(year, 1, 1).to_solar_date()
    days.update(new_year + timedelta(days=i) for i in range(-1, 3))  # 除夕 .. 初三
    days.add(LunarDate(year, 5, 5).to_solar_date())
    days.add(LunarDate(year, 8, 15).to_solar_date())
    for d, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10)):
        if name == "清明":
            days.add(d)
    return frozenset(d for d in days if d.year == year)


def schedule_known(day: date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_workday(day: date) -> bool:
    """True on working days, including the weekend days worked in lieu (调休上班)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5 and day not in statutory_holidays(day.year)


def is_public_holiday(day: date) -> bool:
    """A statutory holiday (节假日), not merely a weekend."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return day in statutory_holidays(day.year)
    return bool(on_holiday and name)


def next_workday(day: date) -> date:
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def qixi(year: int) -> date:
    """七夕: the 7th day of the 7th lunar month."""
    return LunarDate(year, 7, 7).to_solar_date()


@dataclass(frozen=True)
class Period:
    start: date  # first day counted
    nominal_end: date  # start + days - 1
    end: date  # moved to a working day when the nominal end is a rest day
    schedule_known: bool

    @property
    def moved(self) -> bool:
        return self.end != self.nominal_end


def period_after(event: date, days: int) -> Period:
    """The ``days``-day period that follows ``event`` (民法典 第201条、第203条)."""
    start = event + timedelta(days=1)
    nominal_end = event + timedelta(days=days)
    end = next_workday(nominal_end)
    known = schedule_known(start) and schedule_known(end)
    return Period(start, nominal_end, end, known)


@dataclass(frozen=True)
class DivorceTimeline:
    """Registration of divorce by agreement (民法典 第1077条).

    ``cooling_off``: 30 days from the day after the office accepts the application;
    either party may withdraw during it. ``collection``: the following 30 days, in
    which both must come in person to receive the divorce certificate, otherwise the
    application counts as withdrawn.
    """

    accepted: date
    cooling_off: Period
    collection: Period

    @property
    def schedule_known(self) -> bool:
        return self.cooling_off.schedule_known and self.collection.schedule_known


def divorce_timeline(accepted: date) -> DivorceTimeline:
    cooling = period_after(accepted, 30)
    collection = period_after(cooling.end, 30)
    return DivorceTimeline(accepted, cooling, collection)


def format_day(day: Optional[date]) -> str:
    if day is None:
        return ""
    weekdays = "一二三四五六日"
    return f"{day.year}年{day.month}月{day.day}日（周{weekdays[day.weekday()]}）"
