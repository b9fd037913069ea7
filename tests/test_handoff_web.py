"""Live handoff through the web chat API and the console API: the citizen asks for a
person, an operator takes the conversation, the bot stays silent, the operator's
replies reach the citizen's page, and the bot resumes after the hand-back."""
from __future__ import annotations


import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.catalog.migrate import upgrade
from bot.config import Settings
from bot.console.auth import StaffAuth
from bot.web.server import create_app

PASSWORD = "desk duty 2026"


class FakeRasa:
    def __init__(self):
        self.received = []
        self.events = None  # tracker events to report (default: a handoff conversation)

    async def webhook(self, request):
        body = await request.json()
        self.received.append(body["message"])
        if body["message"] in ("转人工", "/human_handoff"):
            return web.json_response([
                {"recipient_id": body["sender"], "text": "好的，正在为您转接人工服务，请稍候。"},
                {"recipient_id": body["sender"], "custom": {"kind": "handoff_queued", "service": None,
                                                            "html": "好的，正在为您转接人工服务，请稍候。"}},
            ])
        if body["message"].startswith("啊"):
            return web.json_response([
                {"recipient_id": body["sender"], "text": "抱歉，我不太确定您想了解哪项业务。"},
                {"recipient_id": body["sender"], "custom": {"kind": "clarify", "service": None, "html": "抱歉"}},
            ])
        return web.json_response([{"recipient_id": body["sender"], "text": "这是智能助手的回答"}])

    async def tracker(self, request):
        assert request.query.get("token") == "tok"
        if self.events is not None:
            return web.json_response({"events": self.events, "slots": {}})
        return web.json_response({
            "events": [
                {"event": "user", "text": "低保怎么申请，我电话13812345678"},
                {"event": "bot", "text": "低保申请指南……"},
                {"event": "user", "text": "/human_handoff"},
                {"event": "bot", "text": "好的，正在为您转接人工服务，请稍候。"},
            ],
            "slots": {"service": "assistance.dibao", "region": "hunan-chenzhou", "age": None},
            "latest_message": {"intent": {"name": "human_handoff"}},
        })


@pytest.fixture
async def env(tmp_path):
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    upgrade(url)
    rasa = FakeRasa()
    rapp = web.Application()
    rapp.router.add_post("/webhooks/rest/webhook", rasa.webhook)
    rapp.router.add_get("/conversations/{sid}/tracker", rasa.tracker)
    rserver = TestServer(rapp)
    await rserver.start_server()
    rasa_url = str(rserver.make_url("")).rstrip("/")
    settings = Settings(db_url=url, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345",
                        rasa_token="tok")
    citizen = TestClient(TestServer(create_app(rasa_url, settings)))
    await citizen.start_server()
    operators = []
    for name in ("op.one", "op.two"):
        StaffAuth(url).add_account(name, PASSWORD)
        op = TestClient(citizen.server)  # the same server, a browser of its own (cookie jar)
        await op.start_server()  # already running: a no-op
        operators.append(op)
    yield citizen, operators, rasa, url
    for op in operators:
        await op.session.close()
    await citizen.close()
    await rserver.close()


async def sign_in(client, name):
    origin = {"Origin": str(client.make_url("")).rstrip("/")}
    resp = await client.post("/console/login", data={"name": name, "password": PASSWORD}, headers=origin,
                             allow_redirects=False)
    assert resp.status == 303
    return origin


async def say(citizen, text):
    resp = await citizen.post("/api/chat", json={"text": text})
    assert resp.status == 200
    return await resp.json()


async def test_live_handoff_round_trip(env):
    citizen, (op1, op2), rasa, _ = env
    first = await say(citizen, "转人工")
    assert first["handoff"] is True and "转接人工" in first["messages"][0]["text"]

    o1 = await sign_in(op1, "op.one")
    o2 = await sign_in(op2, "op.two")
    queue = (await (await op1.get("/api/console/queue")).json())["waiting"]
    assert len(queue) == 1
    item = queue[0]
    assert item["channel"] == "web" and item["channel_label"] == "网页"
    assert item["understood"]["service"] == "assistance.dibao"
    assert item["understood"]["region"] == "hunan-chenzhou"
    texts = [line["text"] for line in item["transcript"]]
    assert "低保怎么申请，我电话138****5678" in texts  # masked for staff
    assert "/human_handoff" not in texts  # button payloads are not shown as speech

    hid = item["id"]
    assert (await op1.post(f"/api/console/handoffs/{hid}/take", headers=o1)).status == 200
    assert (await op2.post(f"/api/console/handoffs/{hid}/take", headers=o2)).status == 409

    # while a person serves, the bot is silent
    n = len(rasa.received)
    during = await say(citizen, "我家两口人，每月收入800元")
    assert during["handoff"] is True and len(rasa.received) == n
    assert [m["kind"] for m in during["messages"]] == ["system"]  # "工作人员已接入" comes with the answer

    assert (await op2.post(f"/api/console/handoffs/{hid}/reply", json={"text": "我来"}, headers=o2)).status == 403
    assert (await op1.post(f"/api/console/handoffs/{hid}/reply", json={"text": "您好，请问在哪个区？"},
                           headers=o1)).status == 200
    upd = await (await citizen.get("/api/chat/updates")).json()
    assert upd["handoff"] is True
    assert [m["kind"] for m in upd["messages"]] == ["operator"]
    assert upd["messages"][0]["text"] == "您好，请问在哪个区？"
    again = await (await citizen.get("/api/chat/updates")).json()
    assert again["messages"] == []

    detail = await (await op1.get(f"/api/console/handoffs/{hid}")).json()
    assert detail["transcript"][-1]["author"] == "operator"
    assert any("我家两口人" in line["text"] for line in detail["transcript"])
    revealed = await (await op1.get(f"/api/console/handoffs/{hid}", params={"reveal": "1"})).json()
    assert any("13812345678" in line["text"] for line in revealed["transcript"])

    assert (await op1.post(f"/api/console/handoffs/{hid}/finish", json={"back_to_bot": True},
                           headers=o1)).status == 200
    upd = await (await citizen.get("/api/chat/updates")).json()
    assert upd["handoff"] is False and "智能助手" in upd["messages"][0]["text"]
    after = await say(citizen, "高龄津贴")
    assert after["handoff"] is False and rasa.received[-1] == "高龄津贴"


@pytest.mark.parametrize("path", ["/api/console/queue", "/api/console/handoffs/1"])
async def test_queue_needs_a_session(env, path):
    citizen = env[0]
    assert (await citizen.get(path)).status == 401


async def test_updates_go_only_to_the_conversation_cookie(env):
    citizen, (op1, _), rasa, _ = env
    await say(citizen, "转人工")
    o1 = await sign_in(op1, "op.one")
    [item] = (await (await op1.get("/api/console/queue")).json())["waiting"]
    await op1.post(f"/api/console/handoffs/{item['id']}/take", headers=o1)
    await op1.post(f"/api/console/handoffs/{item['id']}/reply", json={"text": "只给这位市民"}, headers=o1)
    # another browser (no cookie), or one naming the conversation in the old query string, gets nothing
    stranger = TestClient(citizen.server)
    await stranger.start_server()
    try:
        for params in ({}, {"sender": "citizenAbc12345"}):
            data = await (await stranger.get("/api/chat/updates", params=params)).json()
            assert data == {"ok": True, "handoff": False, "messages": []}
    finally:
        await stranger.session.close()
    own = await (await citizen.get("/api/chat/updates")).json()  # still there for its owner
    assert own["handoff"] is True and [m["text"] for m in own["messages"]][-1] == "只给这位市民"


def _clarify_turn(text):
    return [{"event": "user", "text": text},
            {"event": "bot", "text": "抱歉", "data": {"custom": {"kind": "clarify"}}}]


async def test_two_failures_in_a_row_go_to_a_person_when_one_is_online(env):
    citizen, (op1, _), rasa, _ = env
    rasa.events = _clarify_turn("啊这个")  # one failure so far
    first = await say(citizen, "啊这个")
    assert first["handoff"] is False
    rasa.events = _clarify_turn("啊这个") + _clarify_turn("啊那个")
    # nobody signed in: no handoff, just the bot's clarifying question
    second = await say(citizen, "啊那个")
    assert second["handoff"] is False and len(second["messages"]) == 1
    await sign_in(op1, "op.one")
    third = await say(citizen, "啊那个")
    assert third["handoff"] is True
    assert "连续两次没能理解" in third["messages"][-1]["text"]
    queue = (await (await op1.get("/api/console/queue")).json())["waiting"]
    assert len(queue) == 1 and queue[0]["reason"] == "bot_failed"
