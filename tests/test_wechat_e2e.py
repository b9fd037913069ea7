"""The WeChat channel end to end with the real Rasa server, action server and trained
model (``live_stack``): signed XML in, a guide with numbered options out, a guided form
answered by numbers, and a handoff to the console queue."""
from __future__ import annotations

import dataclasses
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.console.auth import StaffAuth
from bot.web.server import create_app

from .fake_wechat import FakeWeChat
from .test_wechat import content_of, post, settings_for, text_xml

pytestmark = pytest.mark.slow
OPENID = "oE2EFollower000000000001"


class Env:
    def __init__(self, client, fake):
        self.client, self.fake, self.n = client, fake, 0


@pytest.fixture
async def wx(live_stack, catalog_url):
    fake = await FakeWeChat().start()
    settings = settings_for(catalog_url, live_stack.rasa_url, fake.base_url, wechat_reply_seconds=30.0)
    settings = dataclasses.replace(settings, rasa_token=live_stack.token)
    client = TestClient(TestServer(create_app(live_stack.rasa_url, settings)))
    await client.start_server()
    yield Env(client, fake)
    await client.close()
    await fake.close()


async def say(env, text):
    env.n += 1
    env.fake.user_wrote(OPENID)
    status, body, _ = await post(env, text_xml(text, 900_000 + env.n, openid=OPENID))
    assert status == 200 and body != "success"
    return content_of(body)


def option(reply: str, title: str) -> str:
    m = re.search(rf"回复 (\d+)：{re.escape(title)}", reply)
    assert m, f"no option {title!r} in {reply!r}"
    return m.group(1)


async def test_guide_form_and_handoff_on_wechat(wx, catalog_url):
    guide = await say(wx, "在杭州结婚登记需要带什么材料")
    assert "结婚登记" in guide and "杭州" in guide
    where = await say(wx, option(guide, "办理地点"))
    assert "婚姻登记处" in where

    ask = await say(wx, "帮我列个身后事办事清单")
    assert "在哪里去世" in ask
    nxt = await say(wx, option(ask, "家中"))
    assert "回复 1：" in nxt and "热线" not in nxt  # the form's next question, its answers numbered
    following = await say(wx, "1")
    assert following and following != nxt  # a number answers the form
    stopped = await say(wx, "算了")
    assert "已退出" in stopped

    StaffAuth(catalog_url).add_account("wx.e2e", "desk duty 2026")
    op = TestClient(wx.client.server)
    await op.start_server()
    origin = {"Origin": str(op.make_url("")).rstrip("/")}
    assert (await op.post("/console/login", data={"name": "wx.e2e", "password": "desk duty 2026"},
                          headers=origin, allow_redirects=False)).status == 303
    queued = await say(wx, "转人工")
    assert "人工" in queued
    queue = (await (await op.get("/api/console/queue")).json())["waiting"]
    assert any(item["channel"] == "wechat" for item in queue)
    await op.session.close()
