"""Marriage pre-check: legal ages (民法典 1047) and the 2025 documents rules."""
from __future__ import annotations

from datetime import date

import pytest

from bot.marriage_precheck import Party, birthday_at, full_years, precheck

ON = date(2026, 11, 25)


@pytest.mark.parametrize("birth,on,years", [
    (date(2004, 11, 25), ON, 22),   # birthday today: full year reached
    (date(2004, 11, 26), ON, 21),   # tomorrow
    (date(2004, 2, 29), date(2026, 2, 28), 21),
    (date(2004, 2, 29), date(2026, 3, 1), 22),
])
def test_full_years(birth, on, years):
    assert full_years(birth, on) == years


def test_leap_day_birthday():
    assert birthday_at(date(2004, 2, 29), 22) == date(2026, 3, 1)
    assert birthday_at(date(2004, 2, 29), 20) == date(2024, 2, 29)


def test_both_old_enough():
    res = precheck(Party("male", date(2004, 11, 25)), Party("female", date(2006, 11, 25)), ON)
    assert res.ok and res.problems == [] and res.earliest_date is None
    assert any("居民身份证" in m for m in res.materials)
    assert not any("户口簿" in m for m in res.materials)
    assert any("不再需要户口簿" in n for n in res.notes)


@pytest.mark.parametrize("man,woman,who", [
    (date(2004, 11, 26), date(2000, 1, 1), "男方"),   # 22 tomorrow
    (date(1990, 1, 1), date(2006, 11, 26), "女方"),   # 20 tomorrow
])
def test_one_day_too_young(man, woman, who):
    res = precheck(Party("male", man), Party("female", woman), ON)
    assert not res.ok and len(res.problems) == 1 and who in res.problems[0]
    assert res.earliest_date == date(2026, 11, 26)
    assert "2026年11月26日起可以登记" in res.problems[0]


def test_the_later_of_both_dates():
    res = precheck(Party("male", date(2005, 3, 1)), Party("female", date(2007, 6, 1)), ON)
    assert res.earliest_date == date(2027, 6, 1) and len(res.problems) == 2


@pytest.mark.parametrize("age,ok", [(21, False), (22, True), (30, True)])
def test_age_without_birth_date(age, ok):
    assert precheck(Party("male", age=age), Party("female", age=20), ON).ok is ok


def test_unknown_ages_are_a_note_not_a_refusal():
    res = precheck(Party("male"), Party("female"), ON)
    assert res.ok and sum("已满" in n for n in res.notes) == 2


def test_same_sex_is_refused():
    res = precheck(Party("female", age=30), Party("female", age=30), ON)
    assert not res.ok and "一男一女" in res.problems[0]


@pytest.mark.parametrize("previous,expected", [("divorced", "离婚证"), ("widowed", "死亡医学证明")])
def test_previous_marriage_proof(previous, expected):
    res = precheck(Party("male", age=40, previous=previous), Party("female", age=35), ON)
    assert any(expected in m and m.startswith("男方") for m in res.materials)
