"""The WeChat Official Account channel, offline: XML signed (and encrypted) with wechatpy's
own crypto against the endpoint mounted on the web app, a fake Rasa, and a fake WeChat API
on loopback enforcing the real limits (tests/fake_wechat.py)."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest
import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import to_text

from bot.catalog.migrate import upgrade
from bot.config import Settings
from bot.console.auth import StaffAuth
from bot.web.server import create_app
from bot.wechat.app import MEDIA, VOICE_UNRECOGNISED, WELCOME
from bot.wechat.store import WechatStore
from tests.fake_wechat import APP_ID, APP_SECRET, FakeWeChat

TOKEN = "wechat-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oFollower0000000000000001"
PASSWORD = "desk duty 2026"


class FakeRasa:
    def __init__(self):
        self.received = []
        self.delay = 0.0
        self.reply = None  # a list of REST messages to answer with

    async def webhook(self, request):
        body = await request.json()
        self.received.append(body)
        await asyncio.sleep(self.delay)
        sid, text = body["sender"], body["message"]
        if self.reply is not None:
            return web.json_response(self.reply)
        if text in ("转人工", "/human_handoff"):
            return web.json_response([
                {"recipient_id": sid, "text": "好的，正在为您转接人工服务，请稍候。"},
                {"recipient_id": sid, "custom": {"kind": "handoff_queued", "service": None, "html": "转接"}}])
        if text == "婚姻登记":
            return web.json_response([{"recipient_id": sid, "text": "您想办理哪项婚姻登记？", "buttons": [
                {"title": "结婚登记", "payload": "/marriage_register"},
                {"title": "离婚登记", "payload": "/marriage_divorce"}]},
                {"recipient_id": sid, "custom": {"kind": "clarify", "service": None, "html": "选择"}}])
        if text == "/marriage_register":
            return web.json_response([
                {"recipient_id": sid, "text": "结婚登记办事指南：需带户口簿、身份证。", "buttons": [
                    {"title": "所需材料", "payload": "/ask_materials"}]},
                {"recipient_id": sid, "custom": {"kind": "guide", "service": "marriage.register", "html": "指南"}}])
        return web.json_response([{"recipient_id": sid, "text": f"智能助手回答：{text}"}])

    async def tracker(self, request):
        return web.json_response({"events": [{"event": "user", "text": "转人工"},
                                             {"event": "bot", "text": "好的"}],
                                  "slots": {"service": "marriage.register"}})


def settings_for(db_url, rasa_url, api_base, **kw):
    return Settings(db_url=db_url, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345",
                    rasa_token="tok", wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_app_secret=APP_SECRET,
                    wechat_aes_key=AES_KEY, wechat_api_base=api_base, **kw)


@pytest.fixture
async def env(tmp_path):
    url = f"sqlite:///{tmp_path / 'wx.db'}"
    upgrade(url)
    rasa = FakeRasa()
    rapp = web.Application()
    rapp.router.add_post("/webhooks/rest/webhook", rasa.webhook)
    rapp.router.add_get("/conversations/{sid}/tracker", rasa.tracker)
    rserver = TestServer(rapp)
    await rserver.start_server()
    rasa_url = str(rserver.make_url("")).rstrip("/")
    fake = await FakeWeChat().start()
    made = []

    async def make(**kw):
        client = TestClient(TestServer(create_app(rasa_url, settings_for(url, rasa_url, fake.base_url, **kw))))
        await client.start_server()
        made.append(client)
        return client

    client = await make(wechat_reply_seconds=2.0)
    yield Env(client, rasa, fake, url, make)
    for c in made:
        await c.close()
    await fake.close()
    await rserver.close()


class Env:
    def __init__(self, client, rasa, fake, url, make):
        self.client, self.rasa, self.fake, self.url, self.make = client, rasa, fake, url, make
        self.n = 0

    @property
    def channel(self):
        return self.client.server.app["wechat"]


def signature_params(nonce="n0nce", timestamp=None):
    from wechatpy.utils import WeChatSigner

    timestamp = timestamp or str(int(time.time()))
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}


def text_xml(content, msg_id, openid=OPENID, msg_type="text", extra=""):
    return (f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content>{extra}<MsgId>{msg_id}</MsgId></xml>")


def event_xml(event, key="", openid=OPENID, at=None):
    return (f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{at or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>")


async def post(env, xml, client=None, encrypt=False, params=None):
    client = client or env.client
    q = dict(params or signature_params())
    body = xml
    if encrypt:
        crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        body = crypto.encrypt_message(xml, q["nonce"], q["timestamp"])
        q["encrypt_type"] = "aes"
        q["msg_signature"] = xmltodict.parse(body)["xml"]["MsgSignature"]
    resp = await client.post("/wechat", params=q, data=body.encode("utf-8"))
    return resp.status, await resp.text(), q


def content_of(reply_xml):
    return xmltodict.parse(reply_xml)["xml"]["Content"]


async def say(env, text, client=None):
    env.n += 1
    env.fake.user_wrote(OPENID)
    status, body, _ = await post(env, text_xml(text, 10_000 + env.n), client=client)
    assert status == 200
    return content_of(body) if body != "success" else body


# -- the endpoint ------------------------------------------------------------------------------


async def test_get_verification_checks_the_signature(env):
    q = dict(signature_params(), echostr="echo-123")
    resp = await env.client.get("/wechat", params=q)
    assert resp.status == 200 and await resp.text() == "echo-123"
    bad = dict(q, signature="0" * 40)
    resp = await env.client.get("/wechat", params=bad)
    assert resp.status == 403 and "echo-123" not in await resp.text()


async def test_plaintext_message_gets_a_passive_reply(env):
    status, body, _ = await post(env, text_xml("高龄津贴怎么申请", 1))
    assert status == 200
    reply = xmltodict.parse(body)["xml"]
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == "gh_account"
    assert reply["Content"] == "智能助手回答：高龄津贴怎么申请"
    sent = env.rasa.received[-1]
    assert sent["sender"] == f"wx-{OPENID}" and sent["metadata"]["channel"] == "wechat"
    assert OPENID not in str(sent["metadata"])  # the client key is a keyed hash


async def test_safe_mode_request_gets_an_encrypted_reply(env):
    status, body, q = await post(env, text_xml("低保怎么申请", 2), encrypt=True)
    assert status == 200
    outer = xmltodict.parse(body)["xml"]
    assert "Encrypt" in outer and "低保" not in body
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    inner = crypto.decrypt_message(body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
    assert content_of(to_text(inner)) == "智能助手回答：低保怎么申请"


async def test_bad_signatures_are_refused_before_rasa(env):
    q = dict(signature_params(), signature="f" * 40)
    status, body, _ = await post(env, text_xml("你好", 3), params=q)
    assert status == 403 and not env.rasa.received
    # a good query signature but a forged msg_signature in safe mode
    q = signature_params()
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    enc = crypto.encrypt_message(text_xml("你好", 4), q["nonce"], q["timestamp"])
    resp = await env.client.post("/wechat", params=dict(q, encrypt_type="aes", msg_signature="0" * 40),
                                 data=enc.encode())
    assert resp.status == 403 and not env.rasa.received


async def test_replays_of_a_msgid_are_answered_once_across_processes(env):
    other = await env.make(wechat_reply_seconds=2.0)  # a second process on the same database
    first = await post(env, text_xml("婚姻登记", 77))
    again = await post(env, text_xml("婚姻登记", 77))
    elsewhere = await post(env, text_xml("婚姻登记", 77), client=other)
    assert "婚姻登记" in first[1]
    assert again[1] == "success" and elsewhere[1] == "success"
    assert len(env.rasa.received) == 1
    # events: FromUserName + CreateTime
    at = int(time.time())
    assert WELCOME in content_of((await post(env, event_xml("subscribe", at=at)))[1])
    assert (await post(env, event_xml("subscribe", at=at), client=other))[1] == "success"


async def test_malformed_oversized_and_unknown_input_get_polite_answers(env):
    status, body, _ = await post(env, "<xml><Content>not closed")
    assert status == 400 and body == "success"
    status, body, _ = await post(env, "<xml>" + "长" * 40_000 + "</xml>")
    assert status == 413
    status, body, _ = await post(env, "")
    assert status == 400
    for msg_type, mid in (("image", 5), ("location", 6), ("link", 7), ("video", 8), ("miniprogrampage", 9)):
        status, body, _ = await post(env, text_xml("", mid, msg_type=msg_type))
        assert status == 200 and content_of(body) == MEDIA, msg_type
    assert not env.rasa.received


async def test_voice_uses_recognition_or_asks_for_text(env):
    status, body, _ = await post(env, text_xml("", 11, msg_type="voice",
                                               extra="<Recognition><![CDATA[丧葬补助怎么领]]></Recognition>"))
    assert content_of(body) == "智能助手回答：丧葬补助怎么领"
    status, body, _ = await post(env, text_xml("", 12, msg_type="voice"))
    assert content_of(body) == VOICE_UNRECOGNISED


async def test_buttons_become_numbered_options_and_a_reply_selects(env):
    first = await say(env, "婚姻登记")
    assert "回复 1：结婚登记" in first and "回复 2：离婚登记" in first
    guide = await say(env, "1")
    assert env.rasa.received[-1]["message"] == "/marriage_register"
    assert "结婚登记办事指南" in guide and "回复 2：有帮助" in guide
    thanks = await say(env, "2")
    assert thanks == "感谢您的反馈！"
    assert await say(env, "9") == "智能助手回答：9"  # not an option: plain text


async def test_menu_click_subscribe_and_scan(env, monkeypatch):
    from bot import entry

    status, body, _ = await post(env, event_xml("CLICK", "MZ_0", at=100))
    assert env.rasa.received[-1]["message"] == "婚姻登记" and "回复 1" in content_of(body)
    welcome = content_of((await post(env, event_xml("subscribe", at=101)))[1])
    assert WELCOME in welcome and "转人工" in welcome and env.rasa.received[-1]["message"] == "/greet"
    monkeypatch.setattr(entry, "rasa_message", lambda catalog, raw: f'/marriage_register{{"entry":"{raw}"}}'
                        if raw == "hz-xihu-marriage" else None)
    await post(env, event_xml("subscribe", "qrscene_hz-xihu-marriage", openid="oNew", at=1))
    assert env.rasa.received[-1]["message"] == '/marriage_register{"entry":"hz-xihu-marriage"}'
    assert env.rasa.received[-1]["metadata"]["entry"] == "hz-xihu-marriage"
    await post(env, event_xml("SCAN", "unknown-entry", openid="oNew", at=2))
    assert env.rasa.received[-1]["message"] == "/greet"
    n = len(env.rasa.received)
    status, body, _ = await post(env, event_xml("unsubscribe", at=3))
    assert body == "success" and len(env.rasa.received) == n


# -- slow turns and the customer-service API --------------------------------------------------


async def test_a_slow_turn_answers_success_then_a_customer_service_message(env):
    slow = await env.make(wechat_reply_seconds=0.2)
    env.rasa.delay = 0.6
    env.fake.user_wrote(OPENID)
    status, body, _ = await post(env, text_xml("养老补贴", 21), client=slow)
    assert status == 200 and body == "success"
    for _ in range(50):
        if env.fake.texts_to(OPENID):
            break
        await asyncio.sleep(0.05)
    assert env.fake.texts_to(OPENID) == ["智能助手回答：养老补贴"]
    assert env.fake.token_fetches == 1
    store = WechatStore(env.url)
    assert store.token(APP_ID).token in env.fake.tokens  # cached in the database


async def test_long_replies_are_split_at_the_byte_limit(env):
    long_text = "\n".join(f"第{i}条：" + "办理材料说明" * 30 for i in range(20))
    env.rasa.reply = [{"recipient_id": "x", "text": long_text}]
    first = await say(env, "长指南")
    assert len(first.encode()) <= 2048
    for _ in range(50):
        if len(env.fake.texts_to(OPENID)) >= 3:
            break
        await asyncio.sleep(0.05)
    rest = env.fake.texts_to(OPENID)
    assert rest and all(len(t.encode()) <= 2048 for t in rest) and 45002 not in env.fake.refused
    assert "".join([first, *rest]).replace("\n", "") == long_text.replace("\n", "")[:len(
        "".join([first, *rest]).replace("\n", ""))]


async def test_token_expiry_and_the_48_hour_window(env):
    api = env.channel.api
    env.fake.user_wrote(OPENID)
    await asyncio.to_thread(api.store.open_window, OPENID, "message")
    assert await api.send_text(OPENID, "第一条")
    env.fake.expire_tokens()  # WeChat ended the token early: fetched again, sent
    assert await api.send_text(OPENID, "第二条")
    assert env.fake.token_fetches == 2
    # a token near its expiry is refreshed before use
    api.store.save_token(APP_ID, next(iter(env.fake.tokens)), 60)
    assert await api.send_text(OPENID, "第三条") and env.fake.token_fetches == 3
    assert await api.send_text(OPENID, "第四条") and await api.send_text(OPENID, "第五条")
    assert not await api.send_text(OPENID, "第六条")  # 5 per window: not even tried
    assert env.fake.texts_to(OPENID)[-1] == "第五条" and 45047 not in env.fake.refused
    # 49 hours later the window is closed: nothing is sent
    store = api.store
    await asyncio.to_thread(store.open_window, OPENID, "message")
    real_now = store.now
    store.now = lambda: real_now() + timedelta(hours=49)
    try:
        assert not await api.send_text(OPENID, "太晚了")
    finally:
        store.now = real_now
    assert "太晚了" not in env.fake.texts_to(OPENID)


# -- a full conversation with a handoff to the console and back ---------------------------------


async def test_guide_form_handoff_to_the_console_and_back(env):
    StaffAuth(env.url).add_account("op.one", PASSWORD)
    op = TestClient(env.client.server)
    await op.start_server()
    origin = {"Origin": str(op.make_url("")).rstrip("/")}
    assert (await op.post("/console/login", data={"name": "op.one", "password": PASSWORD}, headers=origin,
                          allow_redirects=False)).status == 303
    assert "回复 1" in await say(env, "婚姻登记")
    assert "办事指南" in await say(env, "1")
    status, body, _ = await post(env, event_xml("CLICK", "MZ_4"))  # 转人工
    assert "转接人工" in content_of(body)
    queue = (await (await op.get("/api/console/queue")).json())["waiting"]
    assert len(queue) == 1 and queue[0]["channel"] == "wechat" and queue[0]["channel_label"] == "微信公众号"
    hid = queue[0]["id"]
    assert (await op.post(f"/api/console/handoffs/{hid}/take", headers=origin)).status == 200
    n = len(env.rasa.received)
    during = await say(env, "我想问一下周末能办吗")
    assert len(env.rasa.received) == n  # the bot is silent
    assert "工作人员已接入" in during
    assert (await op.post(f"/api/console/handoffs/{hid}/reply", json={"text": "周六上午可以办理。"},
                          headers=origin)).status == 200
    env.channel_push = asyncio.create_task(env.channel.push_loop(every=0.05))
    try:
        for _ in range(60):
            if any("周六上午" in t for t in env.fake.texts_to(OPENID)):
                break
            await asyncio.sleep(0.05)
        assert "人工客服：周六上午可以办理。" in env.fake.texts_to(OPENID)
        assert (await op.post(f"/api/console/handoffs/{hid}/finish", json={"back_to_bot": True},
                              headers=origin)).status == 200
        for _ in range(60):
            if any("智能助手继续" in t for t in env.fake.texts_to(OPENID)):
                break
            await asyncio.sleep(0.05)
        assert any("智能助手继续" in t for t in env.fake.texts_to(OPENID))
    finally:
        env.channel_push.cancel()
    assert await say(env, "谢谢") == "智能助手回答：谢谢"
    await op.session.close()


async def test_an_operator_message_that_cannot_be_pushed_is_kept_for_later(env, monkeypatch):
    """A push refused (the 48-hour window closed) loses nothing: the message stays
    undelivered and goes out on a later try."""
    from bot.handoff import HandoffDesk

    desk = HandoffDesk(env.url)
    sender = "wx-" + OPENID
    assert "转接人工" in content_of((await post(env, event_xml("CLICK", "MZ_4")))[1])
    [waiting] = desk.queue()
    StaffAuth(env.url).add_account("op.one", PASSWORD)
    staff_id = StaffAuth(env.url).login("op.one", PASSWORD, "127.0.0.1").staff.id
    desk.take(waiting.id, staff_id)
    desk.operator_says(waiting.id, staff_id, "请带上身份证。")
    api = env.channel.api
    real_send = api.send_texts

    async def refused(openid, texts):
        return 0

    monkeypatch.setattr(api, "send_texts", refused)
    push = asyncio.create_task(env.channel.push_loop(every=0.02))
    try:
        await asyncio.sleep(0.3)
        assert "请带上身份证。" in [line.text for line in desk.undelivered(sender, mark=False)]
        monkeypatch.setattr(api, "send_texts", real_send)
        env.fake.user_wrote(OPENID)  # the follower writes again: the window is open
        await asyncio.to_thread(api.store.open_window, OPENID, "message")
        env.channel._push_after.clear()  # the retry pause is over
        for _ in range(100):
            if any("请带上身份证" in t for t in env.fake.texts_to(OPENID)):
                break
            await asyncio.sleep(0.05)
    finally:
        push.cancel()
    assert any("请带上身份证" in t for t in env.fake.texts_to(OPENID))
    assert desk.undelivered(sender, mark=False) == []


async def test_not_mounted_without_settings(tmp_path):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    upgrade(url)
    settings = Settings(db_url=url, rasa_url="http://127.0.0.1:9", web_host="127.0.0.1", web_port=0,
                        hotline="12345")
    client = TestClient(TestServer(create_app("http://127.0.0.1:9", settings)))
    await client.start_server()
    try:
        assert (await client.get("/wechat")).status in (404, 405)
    finally:
        await client.close()


# -- the command line: menu and parametric QR codes ---------------------------------------------


async def test_wechat_menu_and_qr_codes_through_the_api(env, monkeypatch, capsys):
    import argparse

    from bot import qr
    from bot.wechat.cli import main as wechat_main

    monkeypatch.setenv("MINZHENG_DB_URL", env.url)
    monkeypatch.setenv("WECHAT_APP_ID", APP_ID)
    monkeypatch.setenv("WECHAT_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("WECHAT_API_BASE", env.fake.base_url)
    assert await asyncio.to_thread(wechat_main, argparse.Namespace(action="menu")) == 0
    names = [b["name"] for b in env.fake.menus[-1]["button"]]
    assert names == ["婚姻登记", "身后事", "养老补贴", "低保救助", "转人工"]
    link = await asyncio.to_thread(qr.link_for, "wechat", "hz-xihu-marriage")
    assert link == "http://weixin.qq.com/q/hz-xihu-marriage"
    assert env.fake.qrcodes[-1]["action_name"] == "QR_LIMIT_STR_SCENE"


def test_qr_for_wechat_refuses_without_the_account(monkeypatch):
    from bot import qr

    monkeypatch.delenv("WECHAT_APP_ID", raising=False)
    monkeypatch.delenv("WECHAT_APP_SECRET", raising=False)
    with pytest.raises(qr.QRError, match="WECHAT_APP_ID"):
        qr.write_all(None, "wechat", Path("/nonexistent"))


def test_wechat_menu_refuses_without_the_account(monkeypatch, capsys):
    import argparse

    from bot.wechat.cli import main as wechat_main

    monkeypatch.delenv("WECHAT_APP_ID", raising=False)
    assert wechat_main(argparse.Namespace(action="menu")) == 1
    assert "WECHAT_APP_ID" in capsys.readouterr().err
