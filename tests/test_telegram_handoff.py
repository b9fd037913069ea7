"""Live handoff on Telegram: the conversation is queued, the bot stays silent while a
person serves, the operator's messages are pushed to the chat, the bot resumes after
the hand-back. python-telegram-bot against the fake Bot API server."""
from __future__ import annotations

import pytest
from aiohttp import web

from bot.catalog.loader import write_catalog
from bot.catalog.migrate import upgrade
from bot.console.auth import StaffAuth
from bot.handoff import HandoffDesk
from bot.telegram.app import build_application, start_push, stop_push

from .fake_telegram import FakeTelegram
from .test_telegram import _running, _stopped, make_settings

CHAT = 777001


@pytest.fixture
async def rasa():
    received = []

    async def webhook(request):
        body = await request.json()
        received.append(body["message"])
        if body["message"] == "/human_handoff":
            text = "好的，正在为您转接人工服务，请稍候。"
            return web.json_response([{"recipient_id": body["sender"], "text": text},
                                      {"recipient_id": body["sender"],
                                       "custom": {"kind": "handoff_queued", "service": None, "html": text}}])
        return web.json_response([{"recipient_id": body["sender"], "text": "机器人：" + body["message"]}])

    async def tracker(request):
        return web.json_response({"events": [{"event": "user", "text": "郴州低保"}],
                                  "slots": {"service": "assistance.dibao", "region": "hunan-chenzhou"}})

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_get("/conversations/{sid}/tracker", tracker)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", received
    await runner.cleanup()


async def test_telegram_handoff_round_trip(tmp_path, content, rasa):
    url = f"sqlite:///{tmp_path / 'tg-desk.db'}"
    upgrade(url)
    write_catalog(url, content)
    op = StaffAuth(url).add_account("tg.op", "telegram duty 1")
    rasa_url, received = rasa
    fake = await FakeTelegram().start()
    app = build_application(make_settings(url, rasa_url), rasa_url, base_url=fake.base_url)
    bridge = app.bot_data["bridge"]
    await _running(app)
    start_push(app)
    try:
        await fake.send_text(CHAT, "/human")
        await fake.wait_for(CHAT, lambda m: "转接人工" in m["visible"])
        desk = HandoffDesk(url)
        for _ in range(50):  # queued right after the reply was sent
            waiting = desk.queue()
            if waiting:
                break
            await fake.settle(0.1)
        assert len(waiting) == 1 and waiting[0].channel == "telegram" and waiting[0].sender == f"tg-{CHAT}"
        assert waiting[0].understood["region"] == "hunan-chenzhou"

        assert desk.take(waiting[0].id, op.id)
        desk.operator_says(waiting[0].id, op.id, "您好，我是热线工作人员。")
        # pushed without the citizen writing anything
        pushed = await fake.wait_for(CHAT, lambda m: "我是热线工作人员" in m["visible"])
        assert "人工客服" in pushed["visible"]
        assert any("工作人员已接入" in m["visible"] for m in fake.sent_to(CHAT))

        n = len(received)
        await fake.send_text(CHAT, "我家两口人")
        await fake.settle(1.0)
        assert len(received) == n  # the bot stays silent
        assert any("我家两口人" in line.text for line in desk.get(waiting[0].id).transcript)

        desk.finish(waiting[0].id, op.id, back_to_bot=True)
        await fake.wait_for(CHAT, lambda m: "由智能助手继续" in m["visible"])
        before = len(fake.sent_to(CHAT))
        await fake.send_text(CHAT, "高龄津贴")
        await fake.wait_for(CHAT, lambda m: "机器人：高龄津贴" in m["visible"], after=before)
        assert bridge.desk.open_for(f"tg-{CHAT}") is None
    finally:
        await stop_push(app)
        await _stopped(app)
        await fake.stop()


async def test_two_failures_hand_over_on_telegram(tmp_path, content):
    url = f"sqlite:///{tmp_path / 'tg-fail.db'}"
    upgrade(url)
    write_catalog(url, content)
    auth = StaffAuth(url)
    auth.add_account("tg.op2", "telegram duty 2")
    assert auth.login("tg.op2", "telegram duty 2", "127.0.0.1").ok  # someone is on duty

    async def webhook(request):
        body = await request.json()
        return web.json_response([{"recipient_id": body["sender"], "text": "抱歉，我不太确定。"},
                                  {"recipient_id": body["sender"],
                                   "custom": {"kind": "clarify", "service": None, "html": "抱歉，我不太确定。"}}])

    async def tracker(request):
        turn = [{"event": "user", "text": "啊"},
                {"event": "bot", "text": "抱歉", "data": {"custom": {"kind": "clarify"}}}]
        return web.json_response({"events": turn * 2, "slots": {}})

    rapp = web.Application()
    rapp.router.add_post("/webhooks/rest/webhook", webhook)
    rapp.router.add_get("/conversations/{sid}/tracker", tracker)
    runner = web.AppRunner(rapp)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rasa_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    fake = await FakeTelegram().start()
    app = build_application(make_settings(url, rasa_url), rasa_url, base_url=fake.base_url)
    await _running(app)
    try:
        await fake.send_text(CHAT, "啊那个")
        notice = await fake.wait_for(CHAT, lambda m: "连续两次没能理解" in m["visible"])
        assert "12345" in notice["visible"]
        queue = HandoffDesk(url).queue()
        assert len(queue) == 1 and queue[0].reason == "bot_failed" and queue[0].channel == "telegram"
    finally:
        await _stopped(app)
        await fake.stop()
        await runner.cleanup()
