"""The Telegram front end end to end: python-telegram-bot's HTTP stack against the fake
Bot API server, and the real Rasa server, action server and trained model (``live_stack``:
PostgreSQL tracker store, Redis lock store)."""
from __future__ import annotations

import pytest

from bot.telegram.app import build_application

from .fake_telegram import FakeTelegram, buttons_of
from .test_telegram import _running, _stopped, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture
async def telegram():
    fake = await FakeTelegram().start()
    yield fake
    await fake.stop()


@pytest.fixture
async def tg_bot(telegram, live_stack, catalog, catalog_url):
    app = build_application(make_settings(catalog_url, live_stack.rasa_url), live_stack.rasa_url,
                            base_url=telegram.base_url, catalog=catalog)
    await _running(app)
    yield app
    await _stopped(app)


def _guide(title: str):
    return lambda m: title in m["visible"] and "所需材料" in buttons_of(m)


async def test_a_question_gets_the_local_guide(tg_bot, telegram):
    chat = 91001
    await telegram.send_text(chat, "在杭州结婚登记需要带什么材料")
    guide = await telegram.wait_for(chat, _guide("结婚登记"), timeout=60)
    assert "杭州" in guide["visible"] and "身份证" in guide["visible"]
    assert "<b>" in guide["text"]
    assert buttons_of(guide) == ["所需材料", "办理流程", "办理地点", "政策依据", "完整指南", "预约结婚登记",
                                 "👍 有帮助", "👎 没帮助"]


async def test_traditional_chinese_and_a_region_follow_up(tg_bot, telegram):
    chat = 91002
    await telegram.send_text(chat, "低保怎麼申請")
    ask = await telegram.wait_for(chat, lambda m: "城市" in m["visible"], timeout=60)
    assert "杭州" in buttons_of(ask)
    n = len(telegram.sent_to(chat))
    await telegram.press_button(chat, "秦皇岛")
    guide = await telegram.wait_for(chat, _guide("最低生活保障"), after=n, timeout=60)
    assert "秦皇岛" in guide["visible"]


async def test_deep_link_opens_the_service_at_the_scanned_office(tg_bot, telegram):
    chat = 91003
    await telegram.send_text(chat, "/start hz-xihu-marriage")
    guide = await telegram.wait_for(chat, _guide("结婚登记"), timeout=60)
    assert "西湖区婚姻登记处" in guide["visible"]


async def test_tampered_deep_link_gets_the_normal_welcome(tg_bot, telegram):
    chat = 91004
    await telegram.send_text(chat, "/start hz-xihu-marriage'--")
    welcome = await telegram.wait_for(chat, timeout=60)
    assert "错误" not in welcome["visible"] and "Error" not in welcome["visible"]
    assert buttons_of(welcome), "the welcome offers the service menu"


async def test_a_button_press_gets_the_follow_up(tg_bot, telegram):
    chat = 91005
    await telegram.send_text(chat, "/start hz-funeral")
    await telegram.wait_for(chat, _guide("身后事"), timeout=60)
    n = len(telegram.sent_to(chat))
    await telegram.press_button(chat, "办理地点")
    where = await telegram.wait_for(chat, lambda m: "杭州殡仪馆" in m["visible"], after=n, timeout=60)
    assert "办理地点" not in buttons_of(where)


async def test_stickers_and_edits_do_not_break_the_conversation(tg_bot, telegram):
    chat = 91006
    await telegram.send_sticker(chat)
    await telegram.wait_for(chat, lambda m: "文字" in m["visible"])
    await telegram.edit_text(chat, "高龄津贴")
    await telegram.wait_for(chat, lambda m: "修改" in m["visible"])
    await telegram.send_text(chat, "我在营口，高龄津贴怎么领")
    guide = await telegram.wait_for(chat, _guide("高龄津贴"), timeout=60)
    assert "营口" in guide["visible"]


async def test_rasa_down_then_recovery(tg_bot, telegram, live_stack):
    chat = 91007
    bridge = tg_bot.bot_data["bridge"]
    bridge.gateway.rasa_url = "http://127.0.0.1:9"  # the Rasa server is unreachable
    await telegram.send_text(chat, "杭州离婚登记要多久")
    apology = await telegram.wait_for(chat, lambda m: "12345" in m["visible"])
    assert buttons_of(apology) == ["重试"]
    bridge.gateway.rasa_url = live_stack.rasa_url  # back
    await telegram.press_button(chat, "重试")
    guide = await telegram.wait_for(chat, _guide("离婚登记"), after=1, timeout=60)
    assert "30日" in guide["visible"] or "30天" in guide["visible"]


async def test_reset_forgets_the_region(tg_bot, telegram):
    chat = 91008
    await telegram.send_text(chat, "我在郴州，高龄津贴")
    await telegram.wait_for(chat, _guide("高龄津贴"), timeout=60)
    await telegram.send_text(chat, "/reset")
    notice = await telegram.wait_for(chat, lambda m: "重新开始" in m["visible"], timeout=60)
    after = telegram.sent_to(chat).index(notice) + 1
    await telegram.wait_for(chat, lambda m: "您好" in m["visible"], after=after, timeout=60)  # the welcome
    n = len(telegram.sent_to(chat))
    await telegram.send_text(chat, "低保怎么申请")
    reply = await telegram.wait_for(chat, after=n, timeout=60)
    # the region was forgotten: the national answer, with the cities offered, not 郴州's facts
    assert "哪个城市" in reply["visible"] and "杭州" in buttons_of(reply) and "郴州市" not in reply["visible"]


async def test_a_guided_form_with_buttons_on_telegram(tg_bot, telegram):
    chat = 7707
    await telegram.send_text(chat, "帮我列个身后事办事清单")
    await telegram.wait_for(chat, lambda m: "在哪里去世" in m["visible"], timeout=60)
    n = len(telegram.sent_to(chat))
    await telegram.press_button(chat, "家中")
    await telegram.wait_for(chat, lambda m: "哪个城市" in m["visible"], after=n, timeout=60)
    n = len(telegram.sent_to(chat))
    await telegram.send_text(chat, "算了")
    stopped = await telegram.wait_for(chat, lambda m: "已退出" in m["visible"], after=n, timeout=60)
    assert "身后事清单" in stopped["visible"]
