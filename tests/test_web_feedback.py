"""/api/feedback accepts a rating only for a guide the web chat sent to that
conversation, once, with the question the citizen really asked: forged ratings
never reach the review list or the satisfaction figures."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.catalog import models
from bot.catalog.db import session_scope
from bot.catalog.loader import write_catalog
from bot.catalog.migrate import upgrade
from bot.config import Settings
from bot.review import ReviewDesk
from bot.web import guard
from bot.web.server import create_app


@pytest.fixture(scope="module")
def db(tmp_path_factory, content):
    url = f"sqlite:///{tmp_path_factory.mktemp('fb') / 'fb.db'}"
    upgrade(url)
    write_catalog(url, content)
    return url


@pytest.fixture
async def web_client(db):
    async def webhook(request):
        body = await request.json()
        service = "elder.age_allowance" if "高龄" in body["message"] else "assistance.dibao"
        return web.json_response([{"recipient_id": body["sender"], "text": "指南"},
                                  {"recipient_id": body["sender"],
                                   "custom": {"kind": "guide", "service": service, "html": "指南"}}])

    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", webhook)
    rserver = TestServer(rasa)
    await rserver.start_server()
    rasa_url = str(rserver.make_url("")).rstrip("/")
    settings = Settings(db_url=db, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345")
    server = TestServer(create_app(rasa_url, settings))
    clients = []

    async def new_client():
        c = TestClient(server)
        await c.start_server()
        clients.append(c)
        return c

    yield new_client
    for c in clients:
        await c.session.close()
    await server.close()
    await rserver.close()


def counts(db):
    with session_scope(db) as s:
        return (s.execute(select(func.count()).select_from(models.Rating)).scalar_one(),
                s.execute(select(func.count()).select_from(models.ReviewItem)).scalar_one())


async def test_sixty_forged_ratings_reach_nothing(web_client, db, monkeypatch):
    monkeypatch.setitem(guard.LIMITS, "feedback", (1000, 1000))  # the check itself, not the rate limit
    before = counts(db)
    attacker = await web_client()
    await attacker.post("/api/chat", json={"text": "低保"})  # a real conversation, but only the dibao guide
    statuses = []
    for i in range(60):
        if i % 3 == 0:
            attacker.session.cookie_jar.clear()  # and without any conversation
        body = {"sender": uuid.uuid4().hex, "service": "elder.age_allowance" if i % 2 else "funeral.after_death",
                "helpful": False, "question": f"差评{i} 这个服务太差了"}
        statuses.append((await attacker.post("/api/feedback", json=body)).status)
    assert set(statuses) == {400}
    assert counts(db) == before
    assert not [i for i in ReviewDesk(db).pending() if "差评" in i.text]


async def test_one_rating_per_guide_and_the_real_question(web_client, db):
    before = counts(db)
    citizen = await web_client()
    await citizen.post("/api/chat", json={"text": "我妈九十岁高龄津贴怎么领"})
    rate = {"service": "elder.age_allowance", "helpful": False, "question": "别的内容"}
    results = await asyncio.gather(*[citizen.post("/api/feedback", json=rate) for _ in range(5)])
    assert sorted(r.status for r in results) == [200, 409, 409, 409, 409]  # two at once cannot both rate
    assert counts(db) == (before[0] + 1, before[1] + 1)
    assert [i.text for i in ReviewDesk(db).pending() if i.service == "elder.age_allowance"][:1] == \
        ["我妈九十岁高龄津贴怎么领"]
    # another conversation cannot rate the guide this one got
    other = await web_client()
    assert (await other.post("/api/feedback", json=rate)).status == 400


async def test_feedback_is_rate_limited(web_client, monkeypatch):
    monkeypatch.setitem(guard.LIMITS, "feedback", (100, 3))
    citizen = await web_client()
    await citizen.post("/api/chat", json={"text": "低保"})
    statuses = [(await citizen.post("/api/feedback", json={"service": "no.such", "helpful": True})).status
                for _ in range(5)]
    assert statuses == [400, 400, 400, 429, 429]


def test_ratings_expire_and_old_records_are_purged(db):
    clock = [datetime(2026, 12, 1, 9, 0)]
    desk = ReviewDesk(db, now=lambda: clock[0])
    desk.guide_sent("web-late", "assistance.dibao", "低保")
    clock[0] += timedelta(hours=25)
    assert desk.rate_sent("web", "web-late", "assistance.dibao", True) == "not_sent"
    clock[0] += timedelta(days=2)
    assert desk.purge_sent() >= 1
    clock[0] -= timedelta(days=3)  # the record is gone even for a rating "in time"
    assert desk.rate_sent("web", "web-late", "assistance.dibao", True) == "not_sent"
