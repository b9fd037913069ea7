"""A citizen's web chat page in Chromium during a live handoff: the operator's replies
appear on the page, the bot stays silent, and it answers again after the hand-back."""
from __future__ import annotations

from typing import List

import pytest
import requests
from aiohttp import web

from bot.catalog.loader import write_catalog
from bot.catalog.migrate import upgrade
from bot.config import Settings
from bot.console.auth import StaffAuth
from bot.web.server import create_app

from .test_webchat_browser import Background

pytestmark = pytest.mark.browser
PASSWORD = "evening shift 7"


def fake_rasa(received: List[str]) -> web.Application:
    async def webhook(request):
        body = await request.json()
        received.append(body["message"])
        if body["message"] == "转人工":
            text = "好的，正在为您转接人工服务，请稍候。"
            return web.json_response([{"recipient_id": body["sender"], "text": text},
                                      {"recipient_id": body["sender"],
                                       "custom": {"kind": "handoff_queued", "service": None, "html": text}}])
        return web.json_response([{"recipient_id": body["sender"], "text": "智能助手回答：" + body["message"]}])

    async def tracker(request):
        return web.json_response({"events": [{"event": "user", "text": "低保怎么申请"},
                                             {"event": "user", "text": "转人工"}],
                                  "slots": {"service": "assistance.dibao", "region": "hunan-chenzhou"}})

    async def parse(request):
        ranking = [{"name": "assistance_dibao", "confidence": 0.9}]
        return web.json_response({"intent": ranking[0], "intent_ranking": ranking, "entities": []})

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_get("/conversations/{sid}/tracker", tracker)
    app.router.add_post("/model/parse", parse)
    return app


@pytest.fixture
def stack(tmp_path, content):
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    upgrade(url)
    write_catalog(url, content)
    StaffAuth(url).add_account("night.op", PASSWORD, "夜班")
    bg = Background()
    received: List[str] = []
    try:
        rasa_url = bg.serve(fake_rasa(received))
        settings = Settings(db_url=url, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345")
        base = bg.serve(create_app(rasa_url, settings))
        yield base, received
    finally:
        bg.close()


def test_operator_replies_reach_the_citizens_page(stack, browser):
    base, received = stack
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: List[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    op = requests.Session()
    try:
        page.goto(base + "/")
        page.fill("#input", "转人工")
        page.press("#input", "Enter")
        page.wait_for_selector(".msg.bot:has-text('正在为您转接人工服务')")

        r = op.post(base + "/console/login", data={"name": "night.op", "password": PASSWORD},
                    headers={"Origin": base}, allow_redirects=False, timeout=10)
        assert r.status_code == 303
        waiting = op.get(base + "/api/console/queue", timeout=10).json()["waiting"]
        assert len(waiting) == 1
        hid = waiting[0]["id"]
        assert op.post(f"{base}/api/console/handoffs/{hid}/take", headers={"Origin": base}, timeout=10).ok
        assert op.post(f"{base}/api/console/handoffs/{hid}/reply", json={"text": "您好，我是热线工作人员小李。"},
                       headers={"Origin": base}, timeout=10).ok
        # the page polls: the reply appears without the citizen doing anything
        page.wait_for_selector(".msg.operator:has-text('我是热线工作人员小李')")

        n = len(received)
        page.fill("#input", "我在郴州，想问低保")
        page.press("#input", "Enter")
        page.wait_for_selector(".msg.user:has-text('我在郴州')")
        page.wait_for_selector("#send:not([disabled])")  # the turn has finished
        detail = op.get(f"{base}/api/console/handoffs/{hid}", timeout=10).json()
        assert any("我在郴州" in line["text"] for line in detail["transcript"])
        assert len(received) == n  # the bot stayed silent

        assert op.post(f"{base}/api/console/handoffs/{hid}/finish", json={"back_to_bot": True},
                       headers={"Origin": base}, timeout=10).ok
        page.wait_for_selector(".msg.bot:has-text('由智能助手继续')")
        page.fill("#input", "高龄津贴")
        page.press("#input", "Enter")
        page.wait_for_selector(".msg.bot:has-text('智能助手回答：高龄津贴')")
        assert errors == []
    finally:
        op.close()
        context.close()


def test_an_operator_shift_in_the_console(stack, browser):
    """Assist on a call, then take a web chat handoff from the queue, reply, hand back."""
    base, received = stack
    citizen_ctx = browser.new_context(locale="zh-CN")
    staff_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    citizen, console = citizen_ctx.new_page(), staff_ctx.new_page()
    for p in (citizen, console):
        p.set_default_timeout(20_000)
    errors: List[str] = []
    console.on("pageerror", lambda e: errors.append(str(e)))
    citizen.on("pageerror", lambda e: errors.append(str(e)))
    try:
        console.goto(base + "/console/")
        console.fill("#name", "night.op")
        console.fill("#password", PASSWORD)
        console.click("button[type=submit]")
        console.wait_for_selector("#caller-text")
        # assist mode while on a call
        console.type("#caller-text", "家里困难想申请低保", delay=10)
        console.wait_for_selector("#candidates li button:has-text('最低生活保障')")

        citizen.goto(base + "/")
        citizen.fill("#input", "转人工")
        citizen.press("#input", "Enter")
        citizen.wait_for_selector(".msg.bot:has-text('正在为您转接人工服务')")

        take = console.wait_for_selector("#queue button.take")
        assert "最低生活保障" in take.inner_text() and "郴州" in take.inner_text()
        take.click()
        console.wait_for_selector("#conversation:not([hidden])")
        console.wait_for_selector("#conv-transcript li.citizen:has-text('低保怎么申请')")
        console.fill("#reply-text", "您好，我来帮您看看低保的办理。")
        console.press("#reply-text", "Enter")
        citizen.wait_for_selector(".msg.operator:has-text('我来帮您看看低保的办理')")

        n = len(received)
        citizen.fill("#input", "我家两口人")
        citizen.press("#input", "Enter")
        console.wait_for_selector("#conv-transcript li.citizen:has-text('我家两口人')")
        assert len(received) == n  # the bot stayed silent
        assert console.locator("#queue button.take").count() == 0

        console.click("#hand-back")
        citizen.wait_for_selector(".msg.bot:has-text('由智能助手继续')")
        citizen.fill("#input", "高龄津贴")
        citizen.press("#input", "Enter")
        citizen.wait_for_selector(".msg.bot:has-text('智能助手回答：高龄津贴')")
        assert errors == []
    finally:
        citizen_ctx.close()
        staff_ctx.close()
