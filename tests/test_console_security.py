"""Console hardening: who may reveal personal data in a handoff, and bad parameters
(odd digits, huge or negative ids) answered with a 400, never a 500."""
from __future__ import annotations

import sqlite3
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from yarl import URL

from bot.catalog import models
from bot.catalog.db import session_scope
from bot.catalog.migrate import upgrade
from bot.config import Settings
from bot.console.auth import StaffAuth
from bot.handoff import HandoffDesk
from bot.web.server import create_app

PASSWORD = "desk duty 2026"
NUMBER = "13812345678"


@pytest.fixture
async def desk_env(tmp_path, catalog_url):
    path = tmp_path / "desk.db"
    with sqlite3.connect(catalog_url.split("///", 1)[1]) as src, sqlite3.connect(path) as dst:
        src.backup(dst)  # a loaded catalogue of our own
    url = f"sqlite:///{path}"
    upgrade(url)
    settings = Settings(db_url=url, rasa_url="http://127.0.0.1:9", web_host="127.0.0.1", web_port=0,
                        hotline="12345")
    app = create_app(settings.rasa_url, settings)
    server = TestServer(app)
    auth = StaffAuth(url)
    ids = {}
    clients = {}
    for name, role in (("op.one", "operator"), ("op.two", "operator"), ("boss.zhou", "supervisor")):
        ids[name] = auth.add_account(name, PASSWORD, role=role).id
        c = TestClient(server)
        await c.start_server()
        origin = {"Origin": str(c.make_url("")).rstrip("/")}
        resp = await c.post("/console/login", data={"name": name, "password": PASSWORD}, headers=origin,
                            allow_redirects=False)
        assert resp.status == 303
        clients[name] = c
    desk = HandoffDesk(url)
    served = desk.request("web", "web-served", "asked", transcript=[("citizen", f"我电话{NUMBER}")]).id
    waiting = desk.request("telegram", "tg-42", "asked", transcript=[("citizen", f"回电{NUMBER}")]).id
    assert desk.take(served, ids["op.one"])
    yield clients, ids, served, waiting, url, app
    for c in clients.values():
        await c.session.close()
    await server.close()


def _text(data) -> str:
    return " ".join(line["text"] for line in data["transcript"])


def _reveals(url):
    with session_scope(url) as s:
        return sorted((r.staff_id, r.handoff_id) for r in s.execute(select(models.RevealLog)).scalars())


async def test_only_the_serving_operator_or_a_supervisor_may_reveal(desk_env):
    clients, ids, served, waiting, url, _ = desk_env

    async def get(who, hid, reveal):
        resp = await clients[who].get(f"/api/console/handoffs/{hid}", params={"reveal": reveal})
        return resp.status, await resp.json()

    status, data = await get("op.two", served, "1")  # someone else's conversation
    assert status == 403 and "主管" in data["message"] and NUMBER not in str(data)
    status, data = await get("op.two", served, "0")  # the masked view stays open to every operator
    assert status == 200 and NUMBER not in _text(data) and "138****5678" in _text(data)
    status, data = await get("op.one", served, "1")  # the operator serving it
    assert status == 200 and NUMBER in _text(data)
    status, data = await get("boss.zhou", served, "1")  # a supervisor
    assert status == 200 and NUMBER in _text(data)
    status, _ = await get("op.one", waiting, "1")  # not taken by anyone yet
    assert status == 403
    status, data = await get("boss.zhou", waiting, "1")
    assert status == 200 and NUMBER in _text(data)
    # only the allowed reveals are in the audit log
    assert _reveals(url) == sorted([(ids["op.one"], served), (ids["boss.zhou"], served),
                                    (ids["boss.zhou"], waiting)])


BAD_IDS = ["²", "٣", "99999999999999999999999", "9" * 5000, "-1", "0", "abc", "1.5", "1e3", "+1", " 1",
           "%00", "%E2%80%8B1", "2147483648"]


@pytest.mark.parametrize("method,template", [
    ("GET", "/api/console/handoffs/{}"),
    ("POST", "/api/console/handoffs/{}/take"),
    ("POST", "/api/console/handoffs/{}/reply"),
    ("POST", "/api/console/handoffs/{}/finish"),
    ("POST", "/api/console/review/{}"),
])
async def test_bad_ids_get_a_400(desk_env, method, template):
    c = desk_env[0]["op.one"]
    origin = {"Origin": str(c.make_url("")).rstrip("/")}
    for bad in BAD_IDS:
        resp = await c.request(method, URL(template.format(quote(bad, safe="%")), encoded=True), headers=origin,
                               json={"text": "您好", "label": "skip", "back_to_bot": True})
        assert resp.status == 400, (bad, resp.status)
        assert "error" in await resp.json()
    resp = await c.request(method, template.format(987654), headers=origin, json={"text": "您好", "label": "skip"})
    assert resp.status in (400, 403, 404, 409)  # a well-formed id that does not exist: not a 500 either


async def test_bad_guide_parameters_get_a_400(desk_env):
    c = desk_env[0]["op.one"]
    good = await c.get("/api/console/guide", params={"service": "assistance.dibao", "age": "70"})
    assert good.status == 200
    for query in ({"age": "²"}, {"age": "٣"}, {"age": "-1"}, {"age": "131"}, {"age": "1" * 5000},
                  {"age": "12.5"}, {"age": "１２"}, {"service": "x" * 5000}, {"region": "杭" * 500}):
        resp = await c.get("/api/console/guide", params={"service": "assistance.dibao", **query})
        assert resp.status == 400 and "error" in await resp.json(), query


async def test_bad_reveal_values_and_days(desk_env):
    clients, _, served, *_ = desk_env
    c = clients["op.one"]
    for reveal in ("2", "yes", "²", "1" * 100):
        resp = await c.get(f"/api/console/handoffs/{served}", params={"reveal": reveal})
        assert resp.status == 400, reveal
    for days in ("²", "٣", "-5", "9" * 5000, "abc", "", "7"):
        resp = await c.get("/console/overview", params={"days": days})
        assert resp.status == 200, days


async def test_a_database_error_is_a_503_not_a_500(desk_env):
    clients, *_, app = desk_env

    class Broken:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise OperationalError("SELECT 1", {}, Exception("database is locked"))
            return fail

    app["desk"] = Broken()
    resp = await clients["op.one"].get("/api/console/queue")
    body = await resp.json()
    assert resp.status == 503 and body["ok"] is False and "数据库暂时不可用" in body["error"]
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
