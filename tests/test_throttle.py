"""bot.throttle: attempt counters in the database, exact under concurrency."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from bot.catalog.migrate import upgrade
from bot.throttle import Throttle

WINDOW = timedelta(minutes=10)


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    upgrade(url)
    return url


class Clock:
    def __init__(self):
        self.t = datetime(2026, 12, 1, 9, 0, 0)

    def __call__(self):
        return self.t


def test_limit_then_refusal_with_retry_after(sqlite_url):
    clock = Clock()
    t = Throttle(sqlite_url, now=clock)
    verdicts = [t.hit("code:X", 3, WINDOW) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].retry_after_seconds == 600
    assert verdicts[-1].retry_after_minutes == 10
    assert t.blocked("code:X", 3, WINDOW).allowed is False
    assert t.blocked("code:Y", 3, WINDOW).allowed is True
    clock.t += WINDOW
    assert t.hit("code:X", 3, WINDOW).allowed  # a new window starts afresh
    t.reset("code:X")
    assert t.count("code:X", WINDOW) == 0


def test_purge_drops_old_windows_only(sqlite_url):
    clock = Clock()
    t = Throttle(sqlite_url, now=clock)
    t.hit("old", 5, WINDOW)
    clock.t += timedelta(days=3)
    t.hit("new", 5, WINDOW)
    assert t.purge(timedelta(days=2)) == 1
    assert t.count("new", WINDOW) == 1


def _burst(url):
    t = Throttle(url)
    t.reset("burst")
    with ThreadPoolExecutor(12) as ex:
        verdicts = list(ex.map(lambda _: t.hit("burst", 5, timedelta(hours=1)), range(60)))
    return verdicts, t


def test_concurrent_burst_passes_exactly_the_limit_sqlite(sqlite_url):
    verdicts, t = _burst(sqlite_url)
    assert sum(v.allowed for v in verdicts) == 5
    assert t.count("burst", timedelta(hours=1)) == 60


@pytest.mark.postgres
def test_concurrent_burst_passes_exactly_the_limit_postgres(pg_url):
    verdicts, t = _burst(pg_url)
    assert sum(v.allowed for v in verdicts) == 5
    assert sorted(v.count for v in verdicts) == list(range(1, 61))
