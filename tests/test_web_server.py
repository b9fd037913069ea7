"""The web chat proxy (bot/web/server.py) against a fake Rasa REST endpoint."""
from __future__ import annotations

import json
import logging
import re

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from bot.assistant import Assistant
from bot.catalog.loader import load_content, write_catalog
from bot.catalog.migrate import upgrade
from bot.catalog.queries import Catalog
from bot.client import parse_networks
from bot.config import Settings
from bot.stack import free_port
from bot.web import conversation, guard
from bot.web.server import create_app, message_of

CHOSEN = "abcdEFGH1234_-"  # what an old page (or an attacker) would send as its sender


@pytest.fixture
async def fake_rasa():
    received = []
    trackers = {}

    async def webhook(request):
        body = await request.json()
        received.append(body)
        if body["message"] == "boom":
            return web.json_response({"error": "x"}, status=500)
        if body["message"] == "silent":
            return web.json_response([])
        return web.json_response([
            {"recipient_id": body["sender"], "text": "答复",
             "buttons": [{"title": "所需材料", "payload": "/ask_materials"}]},
            {"recipient_id": body["sender"], "custom": {"kind": "guide", "service": "assistance.dibao",
                                                        "html": "<b>答复</b>"}},
        ])

    async def tracker(request):
        events = trackers.get(request.match_info["sid"])
        if events is None:
            return web.json_response({"message": "not found"}, status=404)
        return web.json_response({"events": events})

    async def root(request):
        return web.Response(text="Hello from Rasa: 3.6.21")

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_get("/conversations/{sid}/tracker", tracker)
    app.router.add_get("/", root)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")), received, trackers
    await server.close()


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'web.db'}"
    upgrade(url)
    return url


@pytest.fixture
def settings(db):
    return Settings(db_url=db, rasa_url="", web_host="127.0.0.1", web_port=0, hotline="12345", rasa_token="tok")


async def client_for(url, settings):
    client = TestClient(TestServer(create_app(url, settings)))
    await client.start_server()
    return client


def chat_cookie(client):
    [cookie] = [c for c in client.session.cookie_jar if c.key == conversation.COOKIE]
    return cookie


async def test_text_is_forwarded_and_merged(fake_rasa, settings):
    url, received, _ = fake_rasa
    client = await client_for(url, settings)
    try:
        resp = await client.post("/api/chat", json={"sender": CHOSEN, "text": "/低保怎么申请"})
        data = await resp.json()
        assert resp.status == 200 and data["ok"] is True
        assert received[-1]["message"] == "低保怎么申请"  # leading slash removed from typed text
        [m] = data["messages"]
        assert m["text"] == "答复" and m["html"] == "<b>答复</b>" and m["service"] == "assistance.dibao"
        assert m["buttons"] == [{"title": "所需材料", "payload": "/ask_materials"}]
        # the channel and the hashed client address travel to Rasa; never the address itself
        meta = received[-1]["metadata"]
        assert meta["channel"] == "web" and len(meta["client"]) == 24 and "127.0.0.1" not in str(meta)
    finally:
        await client.close()


async def test_the_server_issues_the_conversation_cookie(fake_rasa, settings):
    url, received, _ = fake_rasa
    client = await client_for(url, settings)
    try:
        resp = await client.post("/api/chat", json={"sender": CHOSEN, "text": "低保"})
        header = resp.headers["Set-Cookie"]
        assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/api/" in header
        assert "Secure" not in header and "Max-Age=1800" in header
        first = received[-1]["sender"]
        assert first.startswith("web-") and CHOSEN not in first  # a sender chosen by the page is ignored
        await client.post("/api/chat", json={"text": "还有呢"})
        assert received[-1]["sender"] == first  # the same conversation while the cookie lives
        other = await client_for(url, settings)
        try:
            await other.post("/api/chat", json={"sender": first[4:], "text": "冒充"})
            assert received[-1]["sender"] != first  # knowing the id does not join the conversation
        finally:
            await other.close()
    finally:
        await client.close()


async def test_secure_cookie_when_configured(fake_rasa, settings):
    from dataclasses import replace

    client = await client_for(fake_rasa[0], replace(settings, secure_cookies=True))
    try:
        resp = await client.post("/api/chat", json={"text": "低保"})
        assert "Secure" in resp.headers["Set-Cookie"]
    finally:
        await client.close()


def test_cookie_values_expire_and_cannot_be_forged():
    value = conversation.issue("conv1abc", "secret", now=1_000_000)
    assert conversation.read(value, "secret", now=1_000_000 + 60) == "conv1abc"
    assert conversation.read(value, "secret", now=1_000_000 + 31 * 60) is None  # idle too long: a new one
    assert conversation.read(value, "other secret", now=1_000_000) is None
    body, _ = value.rsplit(".", 1)
    assert conversation.read(body + ".0" * 16, "secret", now=1_000_000) is None
    for junk in (None, "", "x", "a.b.c", "a." * 300, "conv1.99999999999999999999.ff", "conv1.²³.ff",
                 f"conv1.1000000.{'é' * 32}", "conv1.1000000." + "0" * 31 + "\n", value + "x"):
        assert conversation.read(junk, "secret", now=1_000_000) is None


async def test_an_idle_conversation_is_not_continued(fake_rasa, settings):
    url, received, _ = fake_rasa
    client = await client_for(url, settings)
    try:
        await client.post("/api/chat", json={"text": "低保"})
        first = received[-1]["sender"]
        stale = conversation.issue(first[4:], settings.client_secret, now=0)  # last message long ago
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({conversation.COOKIE: stale})
        await client.post("/api/chat", json={"text": "还有呢"})
        assert received[-1]["sender"] != first
    finally:
        await client.close()


async def test_payloads_are_checked(fake_rasa, settings):
    url, received, _ = fake_rasa
    client = await client_for(url, settings)
    try:
        resp = await client.post("/api/chat", json={"payload": '/inform_region{"region":"杭州"}'})
        assert (await resp.json())["ok"] and received[-1]["message"] == '/inform_region{"region":"杭州"}'
        n = len(received)
        resp = await client.post("/api/chat", json={"payload": "/restart"})
        data = await resp.json()
        assert len(received) == n  # never forwarded
        assert data["messages"][0]["kind"] == "unknown_payload"
    finally:
        await client.close()


@pytest.mark.parametrize("body", [["not", "a", "dict"], "text", 12, None])
async def test_bad_requests(fake_rasa, settings, body):
    client = await client_for(fake_rasa[0], settings)
    try:
        resp = await client.post("/api/chat", json=body)
        assert resp.status == 400 and (await resp.json())["ok"] is False
    finally:
        await client.close()


@pytest.mark.parametrize("path", ["/api/chat", "/api/feedback"])
@pytest.mark.parametrize("raw", [b"[" * 5000 + b"]" * 5000, b'{"a":' * 2000 + b"1" + b"}" * 2000, b"\xff\xfe{"],
                         ids=["deep-list", "deep-dict", "bad-bytes"])
async def test_bodies_the_json_parser_cannot_take_are_a_400(fake_rasa, settings, path, raw):
    """Nesting too deep for the parser (RecursionError) or bad bytes: 400, never a 500."""
    client = await client_for(fake_rasa[0], settings)
    try:
        resp = await client.post(path, data=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 400 and (await resp.json())["ok"] is False
    finally:
        await client.close()


async def test_empty_message_is_answered_locally(fake_rasa, settings):
    url, received, _ = fake_rasa
    client = await client_for(url, settings)
    try:
        data = await (await client.post("/api/chat", json={"text": "   "})).json()
        assert not received and "没有收到文字" in data["messages"][0]["text"]
        resp = await client.post("/api/chat", data=b"x" * 100_000, headers={"Content-Type": "application/json"})
        assert resp.status == 413
    finally:
        await client.close()


@pytest.mark.parametrize("message", ["boom", "silent"])
async def test_rasa_errors_become_an_apology(fake_rasa, settings, message):
    client = await client_for(fake_rasa[0], settings)
    try:
        data = await (await client.post("/api/chat", json={"text": message})).json()
        assert data["ok"] is False and data["retry"] is True
        assert "12345" in data["messages"][0]["text"]
    finally:
        await client.close()


async def test_a_partial_reply_is_not_a_success(fake_rasa, settings):
    """Rasa answered with the first action's messages, but the next action failed on the
    action server: Rasa logged ActionExecuted without the action's events."""
    url, received, trackers = fake_rasa
    client = await client_for(url, settings)
    try:
        ok = await (await client.post("/api/chat", json={"text": "低保"})).json()
        assert ok["ok"] is True  # no tracker to read: passes as before
        sender = received[-1]["sender"]
        trackers[sender] = [
            {"event": "action", "name": "action_session_start"}, {"event": "session_started"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "低保"}, {"event": "action", "name": "action_extract_slots"},
            {"event": "action", "name": "action_service_guide"}, {"event": "bot", "text": "答复"},
            {"event": "slot", "name": "service", "value": "assistance.dibao"},
            {"event": "action", "name": "action_listen"},
        ]
        whole = await (await client.post("/api/chat", json={"text": "低保"})).json()
        assert whole["ok"] is True
        trackers[sender] += [
            {"event": "user", "text": "预约"}, {"event": "action", "name": "action_extract_slots"},
            {"event": "action", "name": "action_after_form_switch"}, {"event": "followup", "name": "booking_form"},
            {"event": "action", "name": "booking_form"},  # failed: no event of its own
            {"event": "action", "name": "action_listen"},
        ]
        data = await (await client.post("/api/chat", json={"text": "预约"})).json()
        assert data["ok"] is False and data["retry"] is True
        assert [m["kind"] for m in data["messages"]] == ["unavailable"] and "12345" in data["messages"][0]["text"]
    finally:
        await client.close()


async def test_rasa_down_becomes_an_apology(settings):
    client = await client_for(f"http://127.0.0.1:{free_port()}", settings)
    try:
        data = await (await client.post("/api/chat", json={"text": "低保"})).json()
        assert data["ok"] is False and "抱歉" in data["messages"][0]["text"]
        page = await client.get("/")
        assert page.status == 200 and "Content-Security-Policy" in page.headers
    finally:
        await client.close()


# -- rate limits ------------------------------------------------------------------------------


async def test_rate_limit_per_conversation(fake_rasa, settings, monkeypatch):
    monkeypatch.setitem(guard.LIMITS, "chat", (100, 3))
    url, received, _ = fake_rasa
    client = await client_for(url, settings)
    try:
        statuses = [(await client.post("/api/chat", json={"text": "低保"})).status for _ in range(5)]
        assert statuses == [200] * 4 + [429]  # the first message has no conversation yet: client limit only
        resp = await client.post("/api/chat", json={"text": "低保"})
        data = await resp.json()
        assert resp.status == 429 and data["ok"] is False and "请稍后再试" in data["messages"][0]["text"]
        assert len(received) == 4
    finally:
        await client.close()


async def test_rate_limit_per_client_survives_new_conversations(fake_rasa, settings, monkeypatch):
    """Dropping the cookie for a fresh conversation each time does not escape the client limit."""
    monkeypatch.setitem(guard.LIMITS, "chat", (4, 100))
    client = await client_for(fake_rasa[0], settings)
    try:
        statuses = []
        for _ in range(6):
            client.session.cookie_jar.clear()
            statuses.append((await client.post("/api/chat", json={"text": "低保"})).status)
        assert statuses == [200] * 4 + [429] * 2
    finally:
        await client.close()


@pytest.mark.parametrize("trusted,separate", [("127.0.0.1", True), ("", False)])
async def test_forwarded_address_only_from_a_trusted_proxy(fake_rasa, settings, monkeypatch, trusted, separate):
    from dataclasses import replace

    monkeypatch.setitem(guard.LIMITS, "chat", (2, 100))
    client = await client_for(fake_rasa[0], replace(settings, trusted_proxies=parse_networks(trusted)))
    try:
        statuses = []
        for i in range(4):
            client.session.cookie_jar.clear()
            resp = await client.post("/api/chat", json={"text": "低保"}, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            statuses.append(resp.status)
        assert statuses == ([200] * 4 if separate else [200, 200, 429, 429])
    finally:
        await client.close()


async def test_throttle_database_down_lets_citizens_through(fake_rasa):
    settings = Settings(db_url="sqlite://", rasa_url="", web_host="127.0.0.1", web_port=0, hotline="12345")
    client = await client_for(fake_rasa[0], settings)
    try:
        data = await (await client.post("/api/chat", json={"text": "低保"})).json()
        assert data["ok"] is True
    finally:
        await client.close()


# -- health ---------------------------------------------------------------------------------


async def test_healthz_reports_each_dependency(fake_rasa, settings, tmp_path):
    from dataclasses import replace

    client = await client_for(fake_rasa[0], settings)
    try:
        resp = await client.get("/healthz")
        assert resp.status == 200 and await resp.json() == {"ok": True, "checks": {"database": "ok", "rasa": "ok"}}
    finally:
        await client.close()
    missing = replace(settings, db_url=f"sqlite:///{tmp_path / 'nothing-here.db'}")
    client = await client_for(fake_rasa[0], missing)
    try:
        resp = await client.get("/healthz")
        assert resp.status == 503 and (await resp.json())["checks"] == {"database": "down", "rasa": "ok"}
        assert not (tmp_path / "nothing-here.db").exists()
    finally:
        await client.close()
    client = await client_for(f"http://127.0.0.1:{free_port()}", settings)
    try:
        resp = await client.get("/healthz")
        assert resp.status == 503 and (await resp.json())["checks"] == {"database": "ok", "rasa": "down"}
    finally:
        await client.close()


# -- access log -----------------------------------------------------------------------------


def test_access_log_has_no_query_string_cookie_or_address(caplog, settings):
    app = create_app("http://127.0.0.1:9", settings)
    request = make_mocked_request("GET", "/api/chat/updates?sender=secretSender123&entry=x", app=app,
                                  headers={"Cookie": f"{conversation.COOKIE}=secretCookieValue",
                                           "User-Agent": "kiosk"})
    response = web.Response(text="{}")
    log = logging.getLogger("test.access")
    with caplog.at_level(logging.INFO, logger="test.access"):
        guard.AccessLogger(log, "").log(request, response, 0.01)
    [line] = [r.getMessage() for r in caplog.records]
    assert '"GET /api/chat/updates" 200' in line
    for secret in ("secretSender123", "secretCookieValue", "entry=", "?", "127.0.0.1"):
        assert secret not in line


# -- the welcome in the page ------------------------------------------------------------------

WELCOME_BLOCK = re.compile(r'<script id="welcome-data" type="application/json">(.*?)</script>', re.S)


def page_welcome(html: str) -> dict:
    [block] = WELCOME_BLOCK.findall(html)
    return json.loads(block)


def menu_of(url: str) -> list:
    return [b.as_dict() for b in Assistant(Catalog(url)).menu_buttons()]


@pytest.fixture
def catalogue_settings(settings, content):
    write_catalog(settings.db_url, content)
    return settings


async def test_the_page_carries_the_catalogue_welcome(fake_rasa, catalogue_settings):
    url, received, _ = fake_rasa
    client = await client_for(url, catalogue_settings)
    try:
        resp = await client.get("/")
        assert resp.status == 200 and resp.content_type == "text/html" and resp.charset == "utf-8"
        assert resp.headers["Cache-Control"] == "no-cache" and "script-src 'self'" in resp.headers[
            "Content-Security-Policy"]
        welcome = page_welcome(await resp.text())
        assert welcome["kind"] == "welcome" and welcome["service"] is None
        # exactly the catalogue's menu, then 我能办什么
        assert welcome["buttons"] == menu_of(catalogue_settings.db_url) + [
            {"title": "我能办什么", "payload": "/ask_capabilities"}]
        assert [b["payload"] for b in welcome["buttons"]][:2] == ["/marriage_register", "/marriage_divorce"]
        assert "婚姻登记" in welcome["text"] and "社会救助" in welcome["text"]
        assert welcome == message_of(Assistant(Catalog(catalogue_settings.db_url)).welcome())
        assert not received  # the page needs no turn
    finally:
        await client.close()


async def test_the_welcome_follows_a_menu_changed_in_content(fake_rasa, catalogue_settings, content_copy):
    """A city edits `menu:` in its content and reloads the catalogue: the next page load
    shows the new buttons, without a restart or a change to chat.js."""
    client = await client_for(fake_rasa[0], catalogue_settings)
    try:
        before = page_welcome(await (await client.get("/")).text())
        assert "/assistance_dibao" in [b["payload"] for b in before["buttons"]]

        def edit(name, change):
            path = content_copy / "services" / name
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            change({s["code"]: s for s in data["services"]})
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

        def assistance(services):
            del services["assistance.dibao"]["menu"]  # off the menu
            services["assistance.tekun"]["menu"] = 7  # on it

        edit("assistance.yml", assistance)
        edit("marriage.yml", lambda services: services["marriage.register"].update(menu=8))  # moved last
        write_catalog(catalogue_settings.db_url, load_content(content_copy))

        after = page_welcome(await (await client.get("/")).text())
        payloads = [b["payload"] for b in after["buttons"]]
        assert payloads == ["/marriage_divorce", "/funeral_after_death", "/elder_age_allowance",
                            "/elder_care_subsidy", "/assistance_tekun", "/marriage_register", "/ask_capabilities"]
        assert after["buttons"][4]["title"] == "特困人员救助供养"
        assert after["buttons"] == menu_of(catalogue_settings.db_url) + [
            {"title": "我能办什么", "payload": "/ask_capabilities"}]
    finally:
        await client.close()


async def test_without_the_catalogue_the_page_has_a_basic_welcome(fake_rasa, settings):
    client = await client_for(fake_rasa[0], settings)  # migrated, nothing loaded
    try:
        resp = await client.get("/")
        assert resp.status == 200
        welcome = page_welcome(await resp.text())
        assert welcome == message_of(Assistant.basic_welcome())
        assert welcome["buttons"] == [{"title": "我能办什么", "payload": "/ask_capabilities"}]
        assert welcome["kind"] == "welcome" and "民政助手" in welcome["text"]
    finally:
        await client.close()


async def test_database_down_keeps_the_last_welcome(fake_rasa, catalogue_settings, monkeypatch):
    from sqlalchemy.exc import OperationalError

    client = await client_for(fake_rasa[0], catalogue_settings)
    try:
        good = page_welcome(await (await client.get("/")).text())
        assert len(good["buttons"]) > 1
        calls = []

        def down():
            calls.append(1)
            raise OperationalError("SELECT", {}, Exception("database is locked"))

        monkeypatch.setattr(client.app["assistant"], "welcome", down)
        resp = await client.get("/")
        assert resp.status == 200 and page_welcome(await resp.text()) == good  # the last one built
        assert guard.db_trouble(client.app) and calls == [1]
        resp = await client.get("/")  # in trouble: the catalogue is not asked again for a while
        assert resp.status == 200 and page_welcome(await resp.text()) == good and calls == [1]
    finally:
        await client.close()


async def test_database_down_from_the_start_gives_the_basic_welcome(fake_rasa, catalogue_settings, monkeypatch):
    import asyncio as aio

    from bot.web import server

    client = await client_for(fake_rasa[0], catalogue_settings)
    try:
        calls = []

        def slow():
            import time
            calls.append(1)
            time.sleep(1)
            raise AssertionError("not reached in time")

        monkeypatch.setattr(server, "WELCOME_TIMEOUT", 0.1)
        monkeypatch.setattr(client.app["assistant"], "welcome", slow)
        resp = await aio.wait_for(client.get("/"), timeout=5)
        assert resp.status == 200 and page_welcome(await resp.text()) == message_of(Assistant.basic_welcome())
        # the next pages do not start another wait on the slow database for a while
        again = await aio.wait_for(client.get("/"), timeout=5)
        assert again.status == 200 and len(calls) == 1
        # slow is not down: the gateway's optional database work is not switched off for it
        from bot.web import guard
        assert not guard.db_trouble(client.app)
    finally:
        await client.close()


async def test_the_welcome_cannot_break_out_of_its_block(fake_rasa, settings, monkeypatch):
    from bot.assistant import Button, Reply

    nasty = '</script><script>alert(1)</script><!-- & "quote" \u2028'
    client = await client_for(fake_rasa[0], settings)
    try:
        monkeypatch.setattr(client.app["assistant"], "welcome",
                            lambda: Reply(nasty, nasty, [Button(nasty, "/x")], kind="welcome"))
        html = await (await client.get("/")).text()
        assert "<script>alert" not in html and "<!-- &" not in html
        assert html.count("</script>") == 2  # chat.js's tag and the data block's own
        welcome = page_welcome(html)
        assert welcome["text"] == nasty and welcome["buttons"] == [{"title": nasty, "payload": "/x"}]
        # the only scripts: chat.js from 'self' and the data block, which never runs
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/chat.js" defer>',
                                                       '<script id="welcome-data" type="application/json">']
    finally:
        await client.close()


async def test_the_page_is_revalidated_with_an_etag(fake_rasa, catalogue_settings):
    client = await client_for(fake_rasa[0], catalogue_settings)
    try:
        first = await client.get("/")
        etag = first.headers["ETag"]
        again = await client.get("/", headers={"If-None-Match": etag})
        assert again.status == 304 and again.headers["ETag"] == etag and not await again.read()
        other = await client.get("/", headers={"If-None-Match": '"something-else"'})
        assert other.status == 200 and page_welcome(await other.text())
    finally:
        await client.close()

