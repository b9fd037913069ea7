"""The web chat and the console when the database is locked or missing: the citizen
gets an answer within seconds (not 30), a message for the desk is kept and written
once the database is back, the console answers a clear 503; and the hourly purge."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.catalog import models
from bot.catalog.db import session_scope
from bot.catalog.migrate import upgrade
from bot.config import Settings
from bot.console.auth import StaffAuth
from bot.review import ReviewDesk, SentGuide
from bot.status_lookup import StatusLookup
from bot.throttle import Throttle
from bot.web import maintenance
from bot.web.server import create_app

PASSWORD = "night desk 2026"


def fake_rasa(received):
    async def webhook(request):
        body = await request.json()
        received.append(body["message"])
        text = "好的，正在为您转接人工服务，请稍候。"
        return web.json_response([{"recipient_id": body["sender"], "text": text},
                                  {"recipient_id": body["sender"],
                                   "custom": {"kind": "handoff_queued", "service": None, "html": text}}])

    async def tracker(request):
        return web.json_response({"events": [], "slots": {}})

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_get("/conversations/{sid}/tracker", tracker)
    return app


@pytest.fixture
async def env(tmp_path):
    path = tmp_path / "desk.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    StaffAuth(url).add_account("op.night", PASSWORD)
    received = []
    rserver = TestServer(fake_rasa(received))
    await rserver.start_server()
    rasa_url = str(rserver.make_url("")).rstrip("/")
    settings = Settings(db_url=url, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345")
    citizen = TestClient(TestServer(create_app(rasa_url, settings, flush_every=0.2)))
    await citizen.start_server()
    op = TestClient(citizen.server)
    await op.start_server()
    yield citizen, op, received, path
    await op.session.close()
    await citizen.close()
    await rserver.close()


def lock(path):
    """Another process holding the write lock (an exclusive transaction)."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=0.1)
    conn.execute("BEGIN EXCLUSIVE")
    return conn


async def test_locked_database_during_a_live_handoff(env):
    citizen, op, received, path = env
    assert (await citizen.post("/api/chat", json={"text": "转人工"})).status == 200
    origin = {"Origin": str(op.make_url("")).rstrip("/")}
    await op.post("/console/login", data={"name": "op.night", "password": PASSWORD}, headers=origin,
                  allow_redirects=False)
    [item] = (await (await op.get("/api/console/queue")).json())["waiting"]
    assert (await op.post(f"/api/console/handoffs/{item['id']}/take", headers=origin)).status == 200
    n = len(received)
    with sqlite3.connect(str(path)) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    holder = lock(path)
    try:
        started = time.monotonic()
        resp = await citizen.post("/api/chat", json={"text": "我家两口人，每月收入800元"})
        elapsed = time.monotonic() - started
        data = await resp.json()
        assert elapsed < 3.5, f"the citizen waited {elapsed:.1f}s"
        assert resp.status == 200 and data["handoff"] is True
        assert [m["kind"] for m in data["messages"]] == ["held"] and "已收到" in data["messages"][0]["text"]
        assert len(received) == n  # not handed to the bot
        # the console: a clear 503 for what needs the database, never a 500
        reply = await op.post(f"/api/console/handoffs/{item['id']}/reply", json={"text": "您好"}, headers=origin)
        assert reply.status == 503 and (await reply.json())["error"]
    finally:
        holder.rollback()
        holder.close()

    for _ in range(50):  # the flush loop writes the held message once the lock is gone
        detail = await (await op.get(f"/api/console/handoffs/{item['id']}")).json()
        if any("800元" in line["text"] for line in detail["transcript"]):
            break
        await asyncio.sleep(0.1)
    texts = [line["text"] for line in detail["transcript"]]
    assert texts.count("我家两口人，每月收入800元") == 1
    assert (await op.post(f"/api/console/handoffs/{item['id']}/reply", json={"text": "您好"},
                          headers=origin)).status == 200


async def test_console_answers_503_when_the_database_is_missing(tmp_path):
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'gone.db'}", rasa_url="", web_host="127.0.0.1", web_port=0,
                        hotline="12345")
    client = TestClient(TestServer(create_app("http://127.0.0.1:9", settings)))
    await client.start_server()
    try:
        client.session.cookie_jar.update_cookies({"mz_staff": "x" * 40})
        resp = await client.get("/api/console/queue")
        assert resp.status == 503 and (await resp.json())["error"]
        page = await client.get("/console/")
        assert page.status == 503
        # the citizen's side too: a clear 503 (the chat itself apologises, see above)
        await client.post("/api/chat", json={"text": "低保"})
        rating = await client.post("/api/feedback", json={"service": "assistance.dibao", "helpful": True})
        assert rating.status == 503 and await rating.json() == {"ok": False, "error": "数据库暂时不可用，请稍后重试"}
    finally:
        await client.close()


# -- the hourly purge -----------------------------------------------------------------------


async def test_maintenance_loop_purges_old_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'purge.db'}"
    upgrade(url)
    long_ago = datetime.now() - timedelta(days=40)
    auth = StaffAuth(url, now=lambda: long_ago)
    auth.add_account("old.op", PASSWORD)
    assert auth.login("old.op", PASSWORD, "127.0.0.1").ok  # a session that expired long ago
    auth.login("old.op", "wrong", "127.0.0.1")
    Throttle(url, now=lambda: long_ago).hit("code:OLD", 5, timedelta(minutes=1))
    ReviewDesk(url, now=lambda: datetime.utcnow() - timedelta(days=3)).guide_sent("web-old", "assistance.dibao")
    with session_scope(url) as s:
        s.add(models.LookupFailure(conversation="web-old", at=long_ago))

    def rows():
        with session_scope(url) as s:
            return {m.__name__: s.execute(select(func.count()).select_from(m)).scalar_one()
                    for m in (models.StaffSession, models.LoginAttempt, models.ThrottleHit, models.LookupFailure,
                              SentGuide)}

    assert all(rows().values())
    settings = Settings(db_url=url, rasa_url="", web_host="127.0.0.1", web_port=0, hotline="12345")
    client = TestClient(TestServer(create_app("http://127.0.0.1:9", settings, purge_every=0.1)))
    await client.start_server()
    try:
        for _ in range(50):
            if not any(rows().values()):
                break
            await asyncio.sleep(0.1)
        assert rows() == {"StaffSession": 0, "LoginAttempt": 0, "ThrottleHit": 0, "LookupFailure": 0,
                          "SentGuide": 0}
    finally:
        await client.close()


def test_one_failing_purge_does_not_stop_the_others():
    ran = []

    def broken():
        raise RuntimeError("database down")

    assert maintenance.purge_once([("a", broken), ("b", lambda: ran.append("b"))]) == 1
    assert ran == ["b"]


async def test_purge_loop_repeats(monkeypatch):
    calls = []
    task = asyncio.create_task(maintenance.purge_loop("sqlite://", every=0.05,
                                                      jobs=[("count", lambda: calls.append(1))]))
    await asyncio.sleep(0.3)
    task.cancel()
    assert len(calls) >= 3
    assert StatusLookup.purge and ReviewDesk.purge_sent  # the real jobs exist
    assert [name for name, _ in maintenance.purge_jobs("sqlite://")] == [
        "attempt counters", "status lookup failures", "staff sessions and login attempts", "sent guides"]
