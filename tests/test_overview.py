"""The console overview: figures from counted questions, handoffs and ratings, and the
charts drawn as SVG."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import stats
from bot.catalog.loader import write_catalog
from bot.catalog.migrate import upgrade
from bot.config import Settings
from bot.console.auth import StaffAuth
from bot.handoff import HandoffDesk
from bot.review import ReviewDesk
from bot.web.server import create_app

NOW = datetime(2026, 11, 25, 14, 0)  # UTC: 22:00 in China


@pytest.fixture
def db(tmp_path, content):
    url = f"sqlite:///{tmp_path / 'ov.db'}"
    upgrade(url)
    write_catalog(url, content)
    return url


def at(days_ago: int, hour: int = 10):
    return lambda: (NOW - timedelta(days=days_ago)).replace(hour=hour)


def fill(db):
    guide = [{"text": "…", "kind": "guide", "service": "assistance.dibao"}]
    for _ in range(3):
        stats.record(db, "web", guide, now=at(0))
    stats.record(db, "telegram", [{"text": "…", "kind": "section", "service": "elder.age_allowance"}], now=at(1))
    stats.record(db, "web", [{"text": "…", "kind": "clarify", "service": None}], now=at(1))
    stats.record(db, "web", [{"text": "你好", "kind": None}], now=at(2))
    stats.record(db, "web", guide, now=at(30))  # outside the window
    op = StaffAuth(db).add_account("ov.op", "overview pass 1").id
    t = {"now": NOW - timedelta(hours=2)}
    desk = HandoffDesk(db, now=lambda: t["now"])
    h1 = desk.request("web", "web-a", "asked")
    t["now"] += timedelta(seconds=90)
    desk.take(h1.id, op)
    desk.request("telegram", "tg-1", "bot_failed")
    t["now"] += timedelta(minutes=10)
    desk.expire(timedelta(minutes=5), "热线")
    reviews = ReviewDesk(db, now=at(0))
    reviews.rate("web", "assistance.dibao", True)
    reviews.rate("web", "assistance.dibao", True)
    reviews.rate("web", "assistance.dibao", False, "多少钱")


def test_overview_figures(db):
    fill(db)
    ov = stats.overview(db, days=7, now=lambda: NOW)
    assert ov.questions == 6 and ov.fallbacks == 1 and ov.fallback_rate == pytest.approx(1 / 6)
    assert ov.per_day_total[-3:] == [1, 2, 3]
    assert ov.per_service == {"assistance.dibao": [0, 0, 0, 0, 0, 0, 3], "elder.age_allowance": [0, 0, 0, 0, 0, 1, 0]}
    assert (ov.handoffs, ov.handoffs_taken, ov.handoffs_timed_out) == (2, 1, 1)
    assert ov.avg_wait_seconds == 90 and ov.max_wait_seconds == 90
    assert ov.ratings == 3 and ov.satisfaction == pytest.approx(2 / 3)


def test_empty_overview(db):
    ov = stats.overview(db, days=14, now=lambda: NOW)
    assert ov.questions == 0 and ov.fallback_rate is None and ov.satisfaction is None and ov.avg_wait_seconds is None


@pytest.fixture
async def client(db):
    settings = Settings(db_url=db, rasa_url="http://127.0.0.1:9", web_host="127.0.0.1", web_port=0, hotline="12345")
    c = TestClient(TestServer(create_app(settings.rasa_url, settings)))
    await c.start_server()
    yield c
    await c.close()


async def test_overview_page_draws_charts(client, db):
    fill(db)  # the page uses the real clock: today's rows are at "NOW"'s date only if run that day
    stats.record(db, "web", [{"text": "…", "kind": "guide", "service": "marriage.register"}])  # now
    assert (await client.get("/console/overview")).status == 401
    assert (await client.get("/api/console/overview")).status == 401
    origin = {"Origin": str(client.make_url("")).rstrip("/")}
    await client.post("/console/login", data={"name": "ov.op", "password": "overview pass 1"}, headers=origin)
    page = await client.get("/console/overview")
    html = await page.text()
    assert page.status == 200
    daily = re.search(r'<svg id="chart-daily".*?</svg>', html, re.S).group(0)
    assert daily.count("<rect") == 14
    services = re.search(r'<svg id="chart-services".*?</svg>', html, re.S).group(0)
    assert "结婚登记" in services  # names, not codes
    data = await (await client.get("/api/console/overview")).json()
    assert data["questions"] >= 1 and len(data["days"]) == 14


def test_days_are_china_standard_time(db):
    # 23:30 UTC on the 24th is 07:30 on the 25th in China
    stats.record(db, "web", [{"text": "…", "kind": "guide", "service": "assistance.dibao"}],
                 now=lambda: datetime(2026, 11, 24, 23, 30))
    ov = stats.overview(db, days=2, now=lambda: datetime(2026, 11, 25, 3, 0))
    assert [d.isoformat() for d in ov.days] == ["2026-11-24", "2026-11-25"]
    assert ov.per_day_total == [0, 1]
