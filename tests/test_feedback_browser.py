"""有帮助 / 没帮助 under a guide on the web chat page (Chromium): the rating and the
question reach the review list, once, and the page remembers it after a reload."""
from __future__ import annotations

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.catalog import models
from bot.catalog.db import session_scope
from bot.catalog.loader import write_catalog
from bot.catalog.migrate import upgrade
from bot.config import Settings
from bot.review import ReviewDesk
from bot.web.server import create_app

from .test_webchat_browser import Background

pytestmark = pytest.mark.browser


def guide_rasa() -> web.Application:
    async def webhook(request):
        body = await request.json()
        text = "低保指南……"
        return web.json_response([
            {"recipient_id": body["sender"], "text": text, "buttons": [{"title": "所需材料",
                                                                       "payload": "/ask_materials"}]},
            {"recipient_id": body["sender"],
             "custom": {"kind": "guide", "service": "assistance.dibao", "html": "<b>最低生活保障</b>\\n" + text}},
        ])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    return app


def test_rating_a_guide(tmp_path, content, browser):
    url = f"sqlite:///{tmp_path / 'fb.db'}"
    upgrade(url)
    write_catalog(url, content)
    bg = Background()
    context = browser.new_context(locale="zh-CN")
    try:
        rasa_url = bg.serve(guide_rasa())
        base = bg.serve(create_app(rasa_url, Settings(db_url=url, rasa_url=rasa_url, web_host="127.0.0.1",
                                                      web_port=0, hotline="12345")))
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(base + "/")
        page.fill("#input", "低保一个月能拿多少钱")
        page.press("#input", "Enter")
        page.wait_for_selector(".msg.bot .rating button:has-text('没帮助')")
        page.click(".msg.bot .rating button:has-text('没帮助')")
        page.wait_for_selector(".rating:has-text('感谢您的反馈')")
        for _ in range(50):
            items = ReviewDesk(url).pending()
            if items:
                break
            page.wait_for_timeout(100)
        assert [(i.source, i.text, i.service) for i in items] == [("unhelpful", "低保一个月能拿多少钱",
                                                                   "assistance.dibao")]
        page.reload()
        page.wait_for_selector(".rating:has-text('感谢您的反馈')")
        assert page.locator(".rating button").count() == 0  # no second vote from the same page
        with session_scope(url) as s:
            assert s.execute(select(func.count()).select_from(models.Rating)).scalar_one() == 1
    finally:
        context.close()
        bg.close()
