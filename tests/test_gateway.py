"""The conversation gateway and the channel registry, without any channel's wire format."""
from __future__ import annotations

import contextlib

import re
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot import channels
from bot.catalog.migrate import upgrade
from bot.config import PROJECT_ROOT, Settings
from bot.console.auth import StaffAuth
from bot.gateway import Gateway, Said
from bot.handoff import HandoffDesk, HandoffError


class FakeRasa:
    def __init__(self):
        self.received = []
        self.down = False
        self.clarify = False

    async def webhook(self, request):
        body = await request.json()
        self.received.append(body)
        if self.down:
            return web.Response(status=502)
        sid = body["sender"]
        if body["message"] == "/human_handoff":
            return web.json_response([{"recipient_id": sid, "text": "正在转接"},
                                      {"recipient_id": sid, "custom": {"kind": "handoff_queued", "html": "转接"}}])
        if self.clarify:
            return web.json_response([{"recipient_id": sid, "text": "没听懂"},
                                      {"recipient_id": sid, "custom": {"kind": "clarify", "html": "没听懂"}}])
        return web.json_response([{"recipient_id": sid, "text": "指南"},
                                  {"recipient_id": sid, "custom": {"kind": "guide", "service": "marriage.register",
                                                                   "html": "<p>指南</p>"}}])

    async def tracker(self, request):
        events = []
        for _ in range(2):
            events += [{"event": "user", "text": "啊"},
                       {"event": "bot", "text": "没听懂", "data": {"custom": {"kind": "clarify"}}}]
        return web.json_response({"events": events, "slots": {}})


@contextlib.asynccontextmanager
async def gateway_to(rasa, tmp_path, **settings_extra):
    """A Gateway on a fresh database in front of a fake Rasa (its webhook and tracker)."""
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    upgrade(url)
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", rasa.webhook)
    app.router.add_get("/conversations/{sid}/tracker", rasa.tracker)
    server = TestServer(app)
    await server.start_server()
    rasa_url = str(server.make_url("")).rstrip("/")
    settings = Settings(db_url=url, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345",
                        rasa_token="tok", **settings_extra)
    gateway = Gateway(settings, rasa_url)
    try:
        yield gateway, url
    finally:
        await gateway.close()
        await server.close()


@pytest.fixture
async def gw(tmp_path):
    rasa = FakeRasa()
    async with gateway_to(rasa, tmp_path) as (gateway, url):
        yield gateway, rasa, url


async def test_a_turn_goes_to_rasa_with_the_channel_and_is_counted(gw):
    gateway, rasa, url = gw
    turn = await gateway.converse("wechat", "wx-o1", Said.text("  结婚登记  "), {"client": "k"})
    assert turn.status == "bot" and turn.ok and turn.messages[0]["kind"] == "guide"
    assert rasa.received[-1]["metadata"] == {"client": "k", "channel": "wechat"}  # no turn id: one Rasa
    assert rasa.received[-1]["message"] == "结婚登记"
    # the guide was recorded as sent: this conversation may rate it, once
    assert await gateway.rate_sent("wechat", "wx-o1", "marriage.register", True) == "ok"
    assert await gateway.rate_sent("wechat", "wx-o1", "marriage.register", True) == "already_rated"


async def test_bad_input_is_answered_without_rasa(gw):
    gateway, rasa, _ = gw
    for said in (Said.text("   "), Said.payload("/no_such_intent"), Said.payload('/greet{"name": "x"}')):
        turn = await gateway.converse("web", "web-a", said)
        assert turn.status == "local" and turn.messages
    assert not rasa.received
    turn = await gateway.converse("web", "web-a", Said.text("/restart"))  # typed text is never a payload
    assert rasa.received[-1]["message"] == "restart" and turn.ok


async def test_rate_limit_refuses_before_anything_else(gw):
    gateway, rasa, _ = gw

    async def refuse():
        return "太快了"

    turn = await gateway.converse("telegram", "tg-1", Said.text("你好"), limit=refuse)
    assert turn.status == "rate_limited" and turn.messages[0]["text"] == "太快了" and not rasa.received
    assert not await gateway.throttled("test:k", 2) and not await gateway.throttled("test:k", 2)
    assert await gateway.throttled("test:k", 2)


async def test_rasa_down_is_an_apology_with_the_message_kept_for_a_retry(gw):
    gateway, rasa, _ = gw
    rasa.down = True
    turn = await gateway.converse("telegram", "tg-1", Said.payload("/greet"))
    assert turn.status == "unavailable" and not turn.ok and turn.message == "/greet"
    assert "12345" in turn.messages[0]["text"]


async def test_handoff_asked_then_staff_serve_and_the_bot_is_silent(gw):
    gateway, rasa, url = gw
    turn = await gateway.converse("wechat", "wx-o2", Said.payload("/human_handoff"))
    assert turn.handoff and gateway.desk.open_for("wx-o2").channel == "wechat"
    staff = StaffAuth(url).add_account("op", "desk duty 2026")
    hid = gateway.desk.queue()[0].id
    assert gateway.desk.take(hid, getattr(staff, "id", staff))
    n = len(rasa.received)
    turn = await gateway.converse("wechat", "wx-o2", Said.text("周末能办吗"))
    assert turn.status == "staff" and len(rasa.received) == n
    assert [m["kind"] for m in turn.messages] == ["system"]


async def test_failed_twice_with_staff_online_queues_with_a_notice(gw, monkeypatch):
    gateway, rasa, url = gw
    rasa.clarify = True
    from bot.console import auth

    monkeypatch.setattr(auth.StaffAuth, "online_count", lambda self: 1)
    turn = await gateway.converse("telegram", "tg-9", Said.text("啊"))
    assert turn.handoff and gateway.desk.open_for("tg-9").reason == "bot_failed"
    assert len(turn.messages) == 2  # the clarifying question and the channel notice
    # a channel without live handoff never queues
    turn = await gateway.converse("ask", "ask-1", Said.text("啊"))
    assert not turn.handoff and gateway.desk.open_for("ask-1") is None


def test_the_registry_decides_what_a_channel_can_carry(tmp_path):
    assert channels.handoff_channels() == {"web", "telegram", "wechat"}
    assert channels.of_sender("wx-abc").name == "wechat" and channels.of_sender("tg-1").name == "telegram"
    assert channels.require("wechat").delivery == "push" and channels.require("web").delivery == "poll"
    assert not channels.can_hand_off("ask") and not channels.can_hand_off(None)
    with pytest.raises(KeyError):
        channels.require("fax")
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    with pytest.raises(HandoffError):
        HandoffDesk(url).request("ask", "ask-1", "asked")


def test_no_channel_name_is_hard_coded_outside_the_adapters_and_the_registry():
    """Adding a channel is one adapter package plus one registry entry."""
    allowed = {"bot/channels.py", "bot/config.py", "bot/stack.py", "bot/production.py", "bot/prod/settings.py",
               "bot/prod/files.py", "bot/prod/container.py", "bot/__main__.py", "bot/qr.py",
               "bot/entry.py"}  # stack and production mode: "web" is a process there
    pattern = re.compile(r"""["'](web|telegram|wechat)["']|["'](tg|wx|web)-""")
    offenders = []
    for path in [*Path(PROJECT_ROOT, "bot").rglob("*.py"), *Path(PROJECT_ROOT, "actions").rglob("*.py")]:
        rel = path.relative_to(PROJECT_ROOT).as_posix()
        if rel in allowed or rel.split("/")[1] in ("web", "telegram", "wechat", "migrations", "console"):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []


# -- production mode: a Rasa replica dies during a turn ----------------------------------------

class DyingReplica:
    """Rasa behind nginx whose replica dies during the next turn: ``die`` = "before" (the
    turn never reached the tracker), "after" (processed and saved, the reply lost), or
    "unreadable" (the tracker cannot be read either). The tracker is the shared one."""

    def __init__(self):
        self.received = []
        self.headers = []
        self.events = []
        self.die = None

    async def webhook(self, request):
        body = await request.json()
        self.received.append(body)
        self.headers.append(request.headers.get("X-Minzheng-Sender"))
        reply = [{"recipient_id": body["sender"], "text": f"答：{body['message']}"},
                 {"recipient_id": body["sender"], "custom": {"kind": "guide", "service": "marriage.register",
                                                             "html": "<p>答</p>"}}]
        die, self.die = self.die, None
        if die in ("after", "unreadable_after"):
            self._save(body, reply)
        if die is not None:
            if die.startswith("unreadable"):
                self.tracker_down = True
            return web.Response(status=502)
        self._save(body, reply)
        return web.json_response(reply)

    def _save(self, body, reply):
        self.events.append({"event": "user", "text": body["message"], "metadata": body["metadata"]})
        self.events.append({"event": "action", "name": "action_service_guide"})
        self.events.append({"event": "bot", "text": reply[0]["text"], "data": {}})
        self.events.append({"event": "bot", "text": None, "data": {"custom": reply[1]["custom"]}})
        self.events.append({"event": "action", "name": "action_listen"})

    tracker_down = False

    async def tracker(self, request):
        if self.tracker_down:
            return web.Response(status=502)
        return web.json_response({"events": self.events, "slots": {}})


@pytest.fixture
async def replicated(tmp_path):
    rasa = DyingReplica()
    async with gateway_to(rasa, tmp_path, replicated=True) as (gateway, _):
        gateway.retry_pause = 0.0
        yield gateway, rasa


async def test_every_request_names_the_sender_for_nginx_and_turns_carry_an_id(replicated):
    gateway, rasa = replicated
    turn = await gateway.converse("web", "web-abc", Said.text("结婚登记"))
    assert turn.status == "bot" and rasa.headers == ["web-abc"]
    assert len(rasa.received[0]["metadata"]["turn"]) == 32 and gateway.retried == 0


async def test_a_turn_the_dying_replica_never_saved_is_sent_again_once(replicated):
    gateway, rasa = replicated
    rasa.die = "before"
    turn = await gateway.converse("web", "web-abc", Said.text("结婚登记"))
    assert turn.status == "bot" and turn.messages[0]["text"] == "答：结婚登记"
    assert len(rasa.received) == 2 and gateway.retried == 1
    assert rasa.received[0]["metadata"]["turn"] == rasa.received[1]["metadata"]["turn"]
    assert [e["text"] for e in rasa.events if e["event"] == "user"] == ["结婚登记"]  # once in the tracker


async def test_a_turn_saved_before_the_replica_died_is_not_run_twice(replicated):
    gateway, rasa = replicated
    rasa.die = "after"
    turn = await gateway.converse("web", "web-abc", Said.text("结婚登记"))
    assert len(rasa.received) == 1 and gateway.retried == 0
    assert turn.status == "bot" and turn.messages[0]["text"] == "答：结婚登记"
    assert turn.messages[0]["kind"] == "guide"  # the text and its custom part merged, as from Rasa


async def test_when_the_tracker_cannot_tell_the_turn_is_not_sent_again(replicated):
    gateway, rasa = replicated
    rasa.die = "unreadable"
    turn = await gateway.converse("web", "web-abc", Said.text("结婚登记"))
    assert turn.status == "unavailable" and len(rasa.received) == 1 and gateway.retried == 0


async def test_with_one_rasa_a_dead_turn_is_not_guessed_at(gw):
    gateway, rasa, _ = gw  # not replicated: no turn id, no second try after a 502
    rasa.down = True
    turn = await gateway.converse("web", "web-x", Said.text("你好"))
    assert turn.status == "unavailable" and len(rasa.received) == 1
    assert "turn" not in rasa.received[0]["metadata"]
