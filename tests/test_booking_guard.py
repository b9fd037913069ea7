"""Attempt limits on booking self-service (bot.booking_guard): the confirmation code plus
the last four phone digits cannot be brute-forced (the review found them in 279 tries and
cancelled the booking), whatever the sender ids and client addresses, while the owner
who knows the digits is served."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from bot import booking_guard as guard
from bot.booking import BookingService, load_schedules
from bot.catalog import models
from bot.catalog.db import session_scope
from bot.catalog.migrate import upgrade

TODAY = date(2026, 11, 23)  # a Monday
OFFICE = "zhejiang-hangzhou-xihu-marriage"
PHONE = "13800131234"


class Clock:
    def __init__(self):
        self.t = datetime(2026, 11, 23, 10, 0)

    def __call__(self):
        return self.t


@pytest.fixture(scope="module")
def schedules(content):
    return load_schedules(known_offices=[o.code for r, _ in content.regions for o in r.offices])


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def db_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'guard.db'}"
    upgrade(url)
    return url


def service(url, schedules, clock) -> BookingService:
    return BookingService(url, schedules, today=lambda: TODAY, now=clock)


def book(svc: BookingService, phone: str = PHONE) -> str:
    r = svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "张三", phone)
    assert r.ok
    return r.booking.code


def status(url: str, code: str) -> str:
    with session_scope(url) as s:
        return s.get(models.Booking, code).status


def wrong_guesses(n: int, right: str = "1234"):
    return [g for g in (f"{i:04d}" for i in range(n + 1)) if g != right][:n]


def test_the_owner_with_the_right_digits_on_the_first_try_is_served(db_url, schedules, clock):
    svc = service(db_url, schedules, clock)
    code = book(svc)
    assert svc.access(code, "1234", "c:owner").outcome == "ok"
    # the form checks the same answer on every turn: that never adds up to a lock
    for _ in range(3 * guard.CODE_FAILURES):
        assert svc.find(code, "1234", "c:owner") is not None
    assert svc.reschedule(code, "1234", date(2026, 11, 26), "09:00", "c:owner").ok
    assert svc.cancel(code, "1234", "c:owner").ok
    assert status(db_url, code) == "cancelled"


def test_the_279_try_brute_force_is_stopped_across_senders_and_clients(db_url, schedules, clock):
    svc = service(db_url, schedules, clock)
    code = book(svc)
    outcomes = [svc.access(code, guess, f"c:rotating-{i}").outcome
                for i, guess in enumerate(wrong_guesses(278))]
    assert outcomes[:guard.CODE_FAILURES] == ["not_found"] * guard.CODE_FAILURES
    assert set(outcomes[guard.CODE_FAILURES:]) == {"locked"}
    # try 279: the right digits, from yet another client, can neither view nor cancel
    assert svc.access(code, "1234", "c:rotating-279").outcome == "locked"
    assert svc.find(code, "1234", "c:rotating-280") is None
    r = svc.cancel(code, "1234", "c:rotating-281")
    assert not r.ok and r.reason == "locked"
    r = svc.reschedule(code, "1234", date(2026, 11, 26), "09:00", "c:rotating-282")
    assert not r.ok and r.reason == "locked"
    assert status(db_url, code) == "booked"


def test_unknown_codes_are_locked_the_same_way(db_url, schedules, clock):
    svc = service(db_url, schedules, clock)
    outcomes = [svc.access("ZZZZZZZZ", g, f"c:{i}").outcome for i, g in enumerate(wrong_guesses(8))]
    assert outcomes == ["not_found"] * guard.CODE_FAILURES + ["locked"] * 3  # no hint whether a code exists


def test_the_right_answer_after_some_failures_still_works(db_url, schedules, clock):
    svc = service(db_url, schedules, clock)
    code = book(svc)
    for g in wrong_guesses(guard.CODE_FAILURES - 1):
        assert svc.access(code, g, "c:fumbling").outcome == "not_found"
    assert svc.access(code, "1234", "c:fumbling").outcome == "ok"
    # the owner who got in keeps going (the form re-checks on every turn) and can cancel
    assert svc.find(code, "1234", "c:fumbling") is not None
    assert svc.cancel(code, "1234", "c:fumbling").ok


def test_repeating_the_same_wrong_answer_counts_once(db_url, schedules, clock):
    svc = service(db_url, schedules, clock)
    code = book(svc)
    for _ in range(3 * guard.CODE_FAILURES):
        assert svc.access(code, "0000", "c:same").outcome == "not_found"
    assert svc.access(code, "1234", "c:same").outcome == "ok"


def test_the_lock_lasts_at_least_a_day_and_the_office_can_lift_it(db_url, schedules, clock):
    svc = service(db_url, schedules, clock)
    code = book(svc)
    for i, g in enumerate(wrong_guesses(guard.CODE_FAILURES)):
        svc.access(code, g, f"c:{i}")
    clock.t += timedelta(hours=23, minutes=59)
    assert svc.access(code, "1234", "c:owner").outcome == "locked"
    clock.t += timedelta(hours=24, minutes=2)  # beyond the current and the previous window
    assert svc.access(code, "1234", "c:owner").outcome == "ok"

    other = book(svc, "13900001111")
    for i, g in enumerate(wrong_guesses(guard.CODE_FAILURES, "1111")):
        svc.access(other, g, f"c:x{i}")
    assert svc.access(other, "1111", "c:owner").outcome == "locked"
    svc.unlock(other.lower())
    assert svc.access(other, "1111", "c:owner").outcome == "ok"


def test_one_client_guessing_across_codes_has_to_wait(db_url, schedules, clock):
    svc = service(db_url, schedules, clock)
    mine = book(svc, "13900005678")
    codes = [f"ZZZZZZ{a}{b}" for a in "ABCD" for b in "EFGH"]
    for c in codes[:guard.CLIENT_FAILURES]:
        assert svc.access(c, "0000", "c:scanner").outcome == "not_found"
    res = svc.access(mine, "5678", "c:scanner")
    assert res.outcome == "throttled" and 1 <= res.retry_after_minutes <= 60
    assert svc.access(mine, "5678", "c:someone-else").outcome == "ok"
    clock.t += guard.CLIENT_WINDOW
    assert svc.access(codes[-1], "0000", "c:scanner").outcome == "not_found"


def test_malformed_answers_are_not_counted(db_url, schedules, clock):
    svc = service(db_url, schedules, clock)
    code = book(svc)
    for bad in ("", "12", "abcd", "12345"):
        for _ in range(guard.CODE_FAILURES):
            assert svc.access(code, bad, "c:typo").outcome == "not_found"
    assert svc.access(code, "1234", "c:typo").outcome == "ok"


def _burst(url, schedules, clock, n=24):
    svc = service(url, schedules, clock)
    code = book(svc)
    barrier = threading.Barrier(n)

    def attempt(i):
        barrier.wait()
        try:
            return svc.access(code, f"{i:04d}" if i != 1234 else "9999", f"c:burst-{i}").outcome
        except OperationalError:  # the database was busy: the action answers with the apology
            return "busy"

    with ThreadPoolExecutor(max_workers=n) as pool:
        outcomes = list(pool.map(attempt, range(n)))
    return svc, code, outcomes


def test_a_burst_of_simultaneous_guesses_cannot_pass_the_limit_sqlite(db_url, schedules, clock):
    svc, code, outcomes = _burst(db_url, schedules, clock)
    assert outcomes.count("not_found") <= guard.CODE_FAILURES
    assert set(outcomes) <= {"not_found", "locked", "busy"}


@pytest.mark.postgres
def test_a_burst_of_simultaneous_guesses_cannot_pass_the_limit_postgres(pg_url, schedules, clock):
    svc, code, outcomes = _burst(pg_url, schedules, clock)
    assert outcomes.count("not_found") <= guard.CODE_FAILURES
    assert outcomes.count("locked") >= len(outcomes) - guard.CODE_FAILURES
    assert svc.access(code, "1234", "c:later").outcome == "locked"



def test_the_office_unlocks_a_code_from_the_command_line(db_url, schedules):
    """`python -m bot booking unlock CODE` lifts the lock that wrong answers set."""
    from bot.__main__ import main

    svc = BookingService(db_url, schedules, today=lambda: TODAY)
    code = book(svc)
    for wrong in wrong_guesses(guard.CODE_FAILURES + 1):
        svc.access(code, wrong, "c:attacker")
    assert svc.access(code, "1234", "c:owner").outcome == "locked"
    assert main(["--db-url", db_url, "booking", "unlock", code.lower()]) == 0
    assert svc.access(code, "1234", "c:owner").outcome == "ok"
