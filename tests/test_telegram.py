"""The Telegram front end through python-telegram-bot's real HTTP stack.

A fake Bot API server (tests/fake_telegram.py) on loopback stands in for Telegram
and enforces its rules (HTML, 4096 characters, 64-byte callback data); a scripted
fake Rasa REST channel stands in for Rasa, so these tests can make Rasa fail at will.
tests/test_telegram_e2e.py runs the same front end against the real servers.
"""
from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import ClientSession, web
from telegram import Update

from bot.client import client_key
from bot.config import Settings
from bot.telegram import app as tgapp
from bot.telegram.app import SECRET_HEADER, WEBHOOK_PATH, build_application, create_webhook_app

from .fake_telegram import TOKEN, FakeTelegram, buttons_of

CHAT = 424242
OTHER_CHAT = 515151
GUIDE_HTML = "<b>结婚登记</b>\n答：双方需共同到婚姻登记机关办理。\n\n<b>所需材料</b>\n1. 本人的户口簿、身份证"


class FakeRasa:
    """Rasa's REST channel, scripted: ``mode`` is "up", "down" (503) or "silent" ([])."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.mode = "up"
        self.reply_html = GUIDE_HTML
        self.url = ""
        self._runner = None

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.mode == "down":
            return web.Response(status=503)
        self.received.append(body)
        if self.mode == "silent" or body["message"] == "/restart":
            return web.json_response([])
        buttons = [{"title": "所需材料", "payload": "/ask_materials"},
                   {"title": "转人工", "payload": "/human_handoff"},
                   {"title": "秦皇岛", "payload": '/inform_region{"region":"秦皇岛市海港区"}'}]
        return web.json_response([
            {"recipient_id": body["sender"], "text": "结婚登记 纯文本", "buttons": buttons},
            {"recipient_id": body["sender"],
             "custom": {"kind": "guide", "service": "marriage.register", "html": self.reply_html}},
        ])

    async def start(self) -> FakeRasa:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    def messages(self) -> list[str]:
        return [b["message"] for b in self.received]


def make_settings(catalog_url: str, rasa_url: str, **kw) -> Settings:
    base = dict(db_url=catalog_url, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345",
                telegram_token=TOKEN, telegram_rate_per_minute=20)
    base.update(kw)
    return Settings(**base)


@pytest.fixture
async def rasa():
    r = await FakeRasa().start()
    yield r
    await r.stop()


@pytest.fixture
async def telegram():
    fake = await FakeTelegram().start()
    yield fake
    await fake.stop()


async def _running(app):
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=Update.ALL_TYPES)


async def _stopped(app):
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    await app.bot_data["bridge"].close()


@pytest.fixture
async def bot(telegram, rasa, catalog, catalog_url):
    app = build_application(make_settings(catalog_url, rasa.url), rasa.url, base_url=telegram.base_url,
                            catalog=catalog)
    await _running(app)
    yield app
    await _stopped(app)


def _no_rasa_message(rasa: FakeRasa, n_before: int) -> bool:
    return len(rasa.received) == n_before


# -- messages in, guides out --------------------------------------------------------------


async def test_text_goes_to_rasa_and_the_guide_comes_back_as_html_with_buttons(bot, telegram, rasa):
    await telegram.send_text(CHAT, "结婚登记要带什么")
    msg = await telegram.wait_for(CHAT, lambda m: "结婚登记" in m["visible"] and m["reply_markup"])
    body = rasa.received[-1]
    assert body["sender"] == f"tg-{CHAT}"
    assert body["message"] == "结婚登记要带什么"
    assert body["metadata"] == {"channel": "telegram", "entry": None, "language": "zh-hans",
                                "client": client_key(str(CHAT), bot.bot_data["bridge"].settings.client_secret)}
    assert str(CHAT) not in body["metadata"]["client"]  # a keyed hash, not the chat id
    # the HTML version is sent, with Telegram's parse mode
    assert msg["parse_mode"] == "HTML" and "<b>结婚登记</b>" in msg["text"]
    assert buttons_of(msg) == ["所需材料", "转人工", "秦皇岛", "👍 有帮助", "👎 没帮助"]
    # and typing was shown while waiting
    actions = [c for c in telegram.calls if c["method"] == "sendChatAction"]
    assert actions and actions[0]["params"]["action"] == "typing"


async def test_button_press_sends_the_payload(bot, telegram, rasa):
    await telegram.send_text(CHAT, "结婚")
    await telegram.wait_for(CHAT, lambda m: m["reply_markup"])
    await telegram.press_button(CHAT, "秦皇岛")
    await telegram.wait_for(CHAT, lambda m: m["reply_markup"], after=1)
    assert rasa.received[-1]["message"] == '/inform_region{"region":"秦皇岛市海港区"}'
    answered = [c for c in telegram.calls if c["method"] == "answerCallbackQuery"]
    assert answered, "the button's spinner must be stopped"


async def test_rating_a_guide(bot, telegram, rasa, catalog_url):
    from bot.review import ReviewDesk

    question = f"低保一个月多少钱{CHAT}"
    await telegram.send_text(CHAT, question)
    await telegram.wait_for(CHAT, lambda m: "👎 没帮助" in buttons_of(m))
    n = len(rasa.received)
    await telegram.press_button(CHAT, "👎 没帮助")
    for _ in range(50):
        answers = [c for c in telegram.calls if c["method"] == "answerCallbackQuery"]
        if answers:
            break
        await telegram.settle(0.1)
    assert answers[-1]["params"].get("text") == "感谢您的反馈！"  # a toast, not another message
    assert len(rasa.received) == n  # Rasa is not involved
    items = [i for i in ReviewDesk(catalog_url).pending() if i.text == question]
    assert len(items) == 1 and items[0].source == "unhelpful" and items[0].channel == "telegram"


async def test_long_payloads_go_through_a_short_key(bot, telegram, rasa):
    long_region = "内蒙古自治区呼伦贝尔市鄂温克族自治旗"
    bridge = bot.bot_data["bridge"]
    data = bridge.keys.encode(f'/inform_region{{"region":"{long_region}"}}')
    assert len(data.encode()) <= 64 and data.startswith("k")
    await telegram.press(CHAT, data)
    await telegram.wait_for(CHAT, lambda m: "结婚登记" in m["visible"])
    assert json.loads(rasa.received[-1]["message"][len("/inform_region"):]) == {"region": long_region}


@pytest.mark.parametrize("data", ['p/evil_intent', 'p/greet{"name":"x"}', "p／greet", "zzz", "kdeadbeef"])
async def test_forged_or_expired_buttons_never_reach_rasa(bot, telegram, rasa, data):
    await telegram.press(CHAT, data)
    msg = await telegram.wait_for(CHAT)
    assert "按钮" in msg["visible"] or "无法识别" in msg["visible"] or "请" in msg["visible"]
    await telegram.settle(0.3)
    assert rasa.received == []


async def test_a_button_answer_in_words_reaches_rasa_as_text(bot, telegram, rasa):
    # form buttons ("是", "11月27日") carry the answer itself; a forged one is no more than typing it
    await telegram.press(CHAT, "p确认")
    await telegram.wait_for(CHAT)
    assert rasa.received[-1]["message"] == "确认"


async def test_long_guides_are_split_on_paragraphs_with_buttons_on_the_last_part(bot, telegram, rasa):
    paragraphs = [f"<b>第{i}部分</b>\n" + ("办理须知内容，" * 60) for i in range(1, 21)]
    rasa.reply_html = "\n\n".join(paragraphs)
    await telegram.send_text(CHAT, "离婚")
    last = await telegram.wait_for(CHAT, lambda m: m["reply_markup"] is not None)
    parts = telegram.sent_to(CHAT)
    assert len(parts) >= 3 and parts[-1] is last
    assert all(len(p["visible"]) <= 4096 for p in parts)
    assert all(p["reply_markup"] is None for p in parts[:-1])
    # nothing lost, nothing cut inside a paragraph
    joined = "\n\n".join(p["text"] for p in parts)
    assert joined == rasa.reply_html
    assert all(p["text"].startswith("<b>第") for p in parts)


async def test_markup_telegram_rejects_is_escaped(bot, telegram, rasa):
    rasa.reply_html = "<b>提示</b>\n<div onclick=x>请带上 <身份证></div> & 户口簿"
    await telegram.send_text(CHAT, "材料")
    msg = await telegram.wait_for(CHAT)
    assert "<div" in msg["visible"] and "<b>提示</b>" in msg["text"]


# -- commands and deep links ----------------------------------------------------------------


async def test_start_greets(bot, telegram, rasa):
    await telegram.send_text(CHAT, "/start")
    await telegram.wait_for(CHAT)
    assert rasa.messages() == ["/greet"]


async def test_deep_link_opens_the_entry_points_service(bot, telegram, rasa):
    await telegram.send_text(CHAT, "/start hz-xihu-marriage")
    await telegram.wait_for(CHAT)
    body = rasa.received[-1]
    assert body["message"].replace(" ", "") == '/marriage_register{"entry":"hz-xihu-marriage"}'
    assert body["metadata"]["entry"] == "hz-xihu-marriage"


@pytest.mark.parametrize("payload", ["no-such-entry", "a" * 65, "hz-xihu-marriage%27", "../../etc", "%00"])
async def test_unknown_or_tampered_deep_links_greet_normally(bot, telegram, rasa, payload):
    await telegram.send_text(CHAT, f"/start {payload}")
    msg = await telegram.wait_for(CHAT)
    assert rasa.messages() == ["/greet"]
    assert rasa.received[-1]["metadata"]["entry"] is None
    assert "错误" not in msg["visible"]


@pytest.mark.parametrize("command,intent", [("/help", "/ask_capabilities"), ("/human", "/human_handoff")])
async def test_help_and_human(bot, telegram, rasa, command, intent):
    await telegram.send_text(CHAT, command)
    await telegram.wait_for(CHAT)
    assert rasa.messages() == [intent]


async def test_reset_restarts_the_conversation_and_greets(bot, telegram, rasa):
    await telegram.send_text(CHAT, "/reset")
    notice = await telegram.wait_for(CHAT, lambda m: "重新开始" in m["visible"])
    await telegram.wait_for(CHAT, after=telegram.sent_to(CHAT).index(notice) + 1)
    assert rasa.messages() == ["/restart", "/greet"]
    assert all(b["sender"] == f"tg-{CHAT}" for b in rasa.received)


async def test_typed_intents_never_reach_rasa_as_intents(bot, telegram, rasa):
    await telegram.send_text(CHAT, "/marriage_register")
    msg = await telegram.wait_for(CHAT)
    assert "/start" in msg["visible"]  # the list of commands
    await telegram.settle(0.3)
    assert rasa.received == []


# -- updates that are not text ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_media_gets_a_polite_text_only_answer(bot, telegram, rasa, kind):
    await getattr(telegram, f"send_{kind}")(CHAT)
    msg = await telegram.wait_for(CHAT)
    assert "文字" in msg["visible"]
    assert rasa.received == []


async def test_edited_messages_and_channel_posts_do_not_break_anything(bot, telegram, rasa):
    await telegram.edit_text(CHAT, "结婚登记")
    edited = await telegram.wait_for(CHAT)
    assert "修改" in edited["visible"]
    await telegram.channel_post(-100777, "频道消息")
    await telegram.send_text(CHAT, "低保")
    await telegram.wait_for(CHAT, lambda m: "结婚登记" in m["visible"])
    assert rasa.messages() == ["低保"]
    assert telegram.sent_to(-100777) == []


async def test_empty_and_huge_messages(bot, telegram, rasa):
    await telegram.send_text(CHAT, "   ")
    msg = await telegram.wait_for(CHAT)
    assert "没有收到文字" in msg["visible"]
    await telegram.send_text(CHAT, "养老" * 3000)
    await telegram.wait_for(CHAT, lambda m: "结婚登记" in m["visible"], after=1)
    assert len(rasa.received[-1]["message"]) == 1000


# -- groups -------------------------------------------------------------------------------------

GROUP = -100123


async def test_groups_are_told_once_to_use_a_private_chat(bot, telegram, rasa):
    await telegram.send_group_text(GROUP, "低保怎么申请")
    note = await telegram.wait_for(GROUP)
    assert "私聊" in note["visible"] and "个人信息" in note["visible"]
    for text in ("我电话13812345678", "/start", "/human", "结婚登记"):
        await telegram.send_group_text(GROUP, text, chat_type="supergroup" if text == "/start" else "group")
    await telegram.send_group_text(-100456, "你好", chat_type="supergroup")
    await telegram.wait_for(-100456)
    await telegram.press_in_group(GROUP, bot.bot_data["bridge"].keys.encode("/human_handoff"))
    for _ in range(50):
        toasts = [c for c in telegram.calls if c["method"] == "answerCallbackQuery"]
        if toasts:
            break
        await telegram.settle(0.1)
    assert "私聊" in toasts[-1]["params"]["text"]
    await telegram.settle(0.5)
    assert rasa.received == []  # no shared group conversation in Rasa
    assert len(telegram.sent_to(GROUP)) == 1  # told once, then quiet
    # private chats are served as before
    await telegram.send_text(CHAT, "低保")
    await telegram.wait_for(CHAT, lambda m: "结婚登记" in m["visible"])
    assert rasa.messages() == ["低保"]


# -- failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["down", "silent"])
async def test_rasa_down_apologises_keeps_the_message_and_retries(bot, telegram, rasa, mode):
    rasa.mode = mode
    await telegram.send_text(CHAT, "我想申请高龄津贴")
    apology = await telegram.wait_for(CHAT)
    assert "12345" in apology["visible"] and "稍后" in apology["visible"]
    assert buttons_of(apology) == ["重试"]
    rasa.mode = "up"
    rasa.received.clear()
    await telegram.press_button(CHAT, "重试")
    await telegram.wait_for(CHAT, lambda m: "结婚登记" in m["visible"], after=1)
    assert rasa.messages() == ["我想申请高龄津贴"]


async def test_rasa_unreachable(telegram, catalog, catalog_url):
    dead = "http://127.0.0.1:9"  # discard port: connection refused
    app = build_application(make_settings(catalog_url, dead), dead, base_url=telegram.base_url, catalog=catalog)
    await _running(app)
    try:
        await telegram.send_text(CHAT, "结婚登记")
        msg = await telegram.wait_for(CHAT)
        assert "12345" in msg["visible"] and buttons_of(msg) == ["重试"]
    finally:
        await _stopped(app)


async def test_retry_with_nothing_pending_says_the_button_expired(bot, telegram, rasa):
    await telegram.press(CHAT, "r")
    msg = await telegram.wait_for(CHAT)
    assert "失效" in msg["visible"]
    assert rasa.received == []


async def test_a_flood_is_cut_per_chat_with_one_notice(telegram, rasa, catalog, catalog_url):
    settings = make_settings(catalog_url, rasa.url, telegram_rate_per_minute=5)
    app = build_application(settings, rasa.url, base_url=telegram.base_url, catalog=catalog)
    await _running(app)
    try:
        for i in range(12):
            await telegram.send_text(CHAT, f"问题{i}")
        await telegram.send_text(OTHER_CHAT, "结婚")
        await telegram.wait_for(OTHER_CHAT, lambda m: "结婚登记" in m["visible"])
        await telegram.settle(1.0)
        from_flood = [b for b in rasa.received if b["sender"] == f"tg-{CHAT}"]
        assert len(from_flood) == 5
        notices = [m for m in telegram.sent_to(CHAT) if "速度" in m["visible"]]
        assert len(notices) == 1
    finally:
        await _stopped(app)


async def test_errors_are_logged_without_personal_data(bot, telegram, rasa, caplog):
    telegram.fail_next["sendMessage"] = 1
    caplog.set_level(logging.INFO)
    await telegram.send_text(CHAT, "我叫王小明，电话13812345678，身份证330106194001011234")
    # the guide could not be sent: the error handler apologises instead
    msg = await telegram.wait_for(CHAT)
    assert "12345" in msg["visible"]
    # everything our process logged (the fake Telegram server's access log is not ours)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "error handling update" in logged
    for secret in ("13812345678", "王小明", "330106194001011234", TOKEN):
        assert secret not in logged
    # the bot keeps serving
    await telegram.send_text(CHAT, "低保")
    await telegram.wait_for(CHAT, lambda m: "结婚登记" in m["visible"], after=1)


async def test_updates_of_one_chat_are_answered_in_order(bot, telegram, rasa):
    for i in range(4):
        await telegram.send_text(CHAT, f"第{i}个问题")
    await telegram.settle(0.1)
    for _ in range(40):
        if len(rasa.received) == 4:
            break
        await asyncio.sleep(0.1)
    assert rasa.messages() == [f"第{i}个问题" for i in range(4)]


# -- webhook mode ----------------------------------------------------------------------------------


async def test_webhook_checks_the_secret_token(telegram, rasa, catalog, catalog_url):
    secret = "s3cret-token_ABC"
    app = build_application(make_settings(catalog_url, rasa.url), rasa.url, base_url=telegram.base_url,
                            catalog=catalog)
    runner = web.AppRunner(create_webhook_app(app, secret))
    await app.initialize()
    await app.start()
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}{WEBHOOK_PATH}"
    update = {"update_id": 1, "message": {"message_id": 5, "date": 0, "text": "结婚登记",
                                          "chat": {"id": CHAT, "type": "private"},
                                          "from": {"id": CHAT, "is_bot": False, "first_name": "测"}}}
    try:
        async with ClientSession() as http:
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: secret + "x"}, {SECRET_HEADER: "密钥"},
                            {SECRET_HEADER: "s3cret-token_ABÇ"}):
                async with http.post(url, json=update, headers=headers) as resp:
                    assert resp.status == 403
            async with http.post(url, data="not json", headers={SECRET_HEADER: secret}) as resp:
                assert resp.status == 400
            async with http.post(url, json=update, headers={SECRET_HEADER: secret}) as resp:
                assert resp.status == 200
        await telegram.wait_for(CHAT, lambda m: "结婚登记" in m["visible"])
        assert rasa.messages() == ["结婚登记"]
    finally:
        await runner.cleanup()
        await app.stop()
        await app.shutdown()
        await app.bot_data["bridge"].close()


def test_main_refuses_to_start_without_a_token(monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)

    class Args:
        mode, rasa_url, webhook_url, listen, port = "polling", "http://127.0.0.1:5005", None, "127.0.0.1", 8443

    assert tgapp.main(Args) == 1
    assert "TELEGRAM_TOKEN" in capsys.readouterr().out


def test_webhook_mode_needs_a_public_https_url(monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.delenv("MINZHENG_PUBLIC_URL", raising=False)

    class Args:
        mode, rasa_url, webhook_url, listen, port = "webhook", "http://127.0.0.1:5005", "http://x", "127.0.0.1", 0

    assert tgapp.main(Args) == 1
    assert "HTTPS" in capsys.readouterr().out
