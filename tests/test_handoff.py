"""The handoff desk: queueing, one operator per conversation, the bot kept out while a
person serves, delivery of operator messages, hand-back, time-outs, masking."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from sqlalchemy import select

from bot.catalog import models
from bot.catalog.db import session_scope
from bot.catalog.migrate import upgrade
from bot.console.auth import StaffAuth
from bot.handoff import HandoffDesk, HandoffError
from bot.privacy import mask_personal


class Clock:
    def __init__(self):
        self.t = datetime(2026, 11, 25, 9, 0)

    def __call__(self):
        return self.t


@pytest.fixture
def setup(tmp_path):
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    upgrade(url)
    auth = StaffAuth(url)
    a = auth.add_account("op.a", "operator pass 1", "甲")
    b = auth.add_account("op.b", "operator pass 2", "乙")
    clock = Clock()
    return HandoffDesk(url, now=clock), clock, a.id, b.id, url


@pytest.mark.parametrize("raw,masked", [
    ("我电话13812345678", "我电话138****5678"),
    ("身份证330106194001011234", "身份证330106********1234"),
    ("身份证33010619400101123X号", "身份证330106********123X号"),
    ("编号123456789012345678901", "编号123456789012345678901"),  # 21 digits: neither
    ("座机0571-87654321", "座机0571-87654321"),
])
def test_mask_personal(raw, masked):
    assert mask_personal(raw) == masked


def test_full_cycle(setup):
    desk, clock, a, b, _ = setup
    h = desk.request("web", "web-abc", "asked", {"service": "assistance.dibao", "region": "hunan-chenzhou"},
                     [("citizen", "低保怎么申请"), ("bot", "……指南……"), ("citizen", "转人工")])
    assert h.status == "waiting" and desk.open_for("web-abc").id == h.id
    # asking again does not queue twice
    assert desk.request("web", "web-abc", "asked").id == h.id
    clock.t += timedelta(seconds=40)
    queue = desk.queue()
    assert [q.id for q in queue] == [h.id] and queue[0].waited_seconds == 40
    assert [line.author for line in queue[0].transcript] == ["citizen", "bot", "citizen"]
    assert queue[0].understood["region"] == "hunan-chenzhou"

    assert desk.take(h.id, a) and not desk.take(h.id, b)  # one operator only
    assert desk.queue() == []
    # the bot stays out: the citizen's messages go to the desk
    assert desk.citizen_says("web-abc", "我家两口人，月收入800元，电话13812345678")
    with pytest.raises(HandoffError):
        desk.operator_says(h.id, b, "我来")  # not the taker
    desk.operator_says(h.id, a, "您好，我是民政热线工作人员。")
    delivered = desk.undelivered("web-abc")
    assert [d.author for d in delivered] == ["system", "operator"]
    assert desk.undelivered("web-abc") == []  # once only

    shown = desk.get(h.id)
    assert "13812345678" not in " ".join(line.text for line in shown.transcript)
    assert "13812345678" in " ".join(line.text for line in desk.get(h.id, reveal_by=a).transcript)

    desk.finish(h.id, a, back_to_bot=True)
    assert desk.open_for("web-abc") is None
    assert not desk.citizen_says("web-abc", "谢谢")  # back to the bot
    assert "智能助手" in desk.undelivered("web-abc")[0].text
    # a new request later opens a new handoff
    assert desk.request("web", "web-abc", "bot_failed").id != h.id


def test_nobody_takes_it_in_time(setup):
    desk, clock, a, _, _ = setup
    h1 = desk.request("telegram", "tg-1", "asked")
    clock.t += timedelta(minutes=3)
    h2 = desk.request("web", "web-2", "bot_failed")
    clock.t += timedelta(minutes=3)
    senders = desk.expire(timedelta(minutes=5), "暂时没有工作人员，请拨打12345（工作日8:30-17:30）。")
    assert senders == ["tg-1"]
    assert [q.id for q in desk.queue()] == [h2.id]
    assert "12345" in desk.undelivered("tg-1")[0].text
    assert not desk.take(h1.id, a)  # too late to take


def test_reveal_is_audited(setup, caplog):
    desk, _, a, _, _ = setup
    h = desk.request("web", "web-z", "asked", transcript=[("citizen", "身份证330106194001011234")])
    caplog.set_level("INFO", logger="minzheng.audit")
    desk.get(h.id)  # masked: nothing recorded
    desk.get(h.id, reveal_by=a)
    assert any(f"staff {a} revealed" in r.getMessage() and str(h.id) in r.getMessage() for r in caplog.records)
    with session_scope(setup[4]) as s:
        rows = s.execute(select(models.RevealLog.staff_id, models.RevealLog.handoff_id)).all()
    assert rows == [(a, h.id)]


def test_concurrent_takes_give_one_operator(setup):
    desk, _, a, b, url = setup
    h = desk.request("web", "web-race", "asked")
    staff = [a, b] * 10
    barrier = threading.Barrier(len(staff))

    def take(sid):
        barrier.wait()
        return desk.take(h.id, sid)

    with ThreadPoolExecutor(max_workers=len(staff)) as pool:
        results = list(pool.map(take, staff))
    assert results.count(True) == 1


def test_concurrent_requests_queue_once(setup):
    desk, _, _, _, _ = setup
    barrier = threading.Barrier(10)

    def ask(_):
        barrier.wait()
        return desk.request("web", "web-twice", "asked").id

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = set(pool.map(ask, range(10)))
    assert len(ids) == 1 and len(desk.queue()) == 1


def test_bad_requests(setup):
    desk, _, _, _, _ = setup
    with pytest.raises(HandoffError):
        desk.request("sms", "x", "asked")
    h = desk.request("web", "web-q", "asked")
    with pytest.raises(HandoffError):
        desk.finish(h.id, 1, back_to_bot=True)  # not taken yet


@pytest.mark.postgres
def test_one_open_handoff_and_one_operator_on_postgres(pg_url):
    auth = StaffAuth(pg_url)
    a = auth.add_account("pg.a", "operator pass 1").id
    b = auth.add_account("pg.b", "operator pass 2").id
    desk = HandoffDesk(pg_url)
    barrier = threading.Barrier(10)

    def ask(_):
        barrier.wait()
        return desk.request("telegram", "tg-42", "asked").id

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = set(pool.map(ask, range(10)))
    assert len(ids) == 1
    (hid,) = ids
    barrier = threading.Barrier(10)

    def take(sid):
        barrier.wait()
        return desk.take(hid, sid)

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(take, [a, b] * 5)).count(True) == 1



def _turn(user, *kinds):
    return [{"event": "user", "text": user}] + [
        {"event": "bot", "text": "…", "data": {"custom": {"kind": k}}} for k in kinds]


@pytest.mark.parametrize("turns,expected", [
    ([], 0),
    ([_turn("低保", "guide")], 0),
    ([_turn("啊", "clarify")], 1),
    ([_turn("低保", "guide"), _turn("啊", "clarify"), _turn("哦", "clarify")], 2),
    ([_turn("啊", "clarify"), _turn("低保", "guide"), _turn("哦", "clarify")], 1),
    ([_turn("啊", "clarify"), _turn("/greet"), _turn("哦", "clarify")], 2),  # turns without a kind don't break it
])
def test_failed_turns(turns, expected):
    from bot.handoff import failed_turns

    events = [ev for t in turns for ev in t]
    assert failed_turns({"events": events}) == expected


def test_timeout_notice_names_the_local_office(catalog):
    from bot.handoff import timeout_notice

    notice = timeout_notice(catalog, "12345")
    local = notice({"service": "marriage.register", "region": "zhejiang-hangzhou"})
    assert "12345" in local and "婚姻登记" in local and "地址" in local
    plain = notice({})
    assert "12345" in plain and "地址" not in plain
    assert "地址" not in notice({"service": "no.such", "region": "nowhere"})


def test_expire_with_a_notice_per_conversation(setup):
    desk, clock, _, _, _ = setup
    desk.request("web", "web-n1", "asked", {"region": "r1"})
    desk.request("web", "web-n2", "asked", {})
    clock.t += timedelta(minutes=10)
    desk.expire(timedelta(minutes=5), lambda u: f"热线（{u.get('region', '全国')}）")
    assert desk.undelivered("web-n1")[0].text == "热线（r1）"
    assert desk.undelivered("web-n2")[0].text == "热线（全国）"


async def test_the_handoff_summary_names_the_intent_of_the_last_message_inside_a_form():
    """Inside a form Rasa's latest_message stays the form's first message; staff must see
    what the citizen said last, from the last user event."""
    from aiohttp import ClientSession, web
    from aiohttp.test_utils import TestServer

    from bot.handoff import conversation_so_far

    tracker = {
        "latest_message": {"text": "帮我算算养老补贴", "intent": {"name": "check_eligibility"}},
        "active_loop": {"name": "eligibility_form"},
        "slots": {"region": "zhejiang-hangzhou", "elig_age": 87},
        "events": [
            {"event": "user", "text": "帮我算算养老补贴", "parse_data": {"intent": {"name": "check_eligibility"}}},
            {"event": "bot", "text": "老人今年多大年纪？"},
            {"event": "user", "text": "转人工", "parse_data": {"intent": {"name": "human_handoff"}}},
        ],
    }

    async def serve(request):
        return web.json_response(tracker)

    app = web.Application()
    app.router.add_get("/conversations/{sender}/tracker", serve)
    server = TestServer(app)
    await server.start_server()
    try:
        async with ClientSession() as http:
            lines, understood = await conversation_so_far(http, str(server.make_url("")), "t", "web-x")
    finally:
        await server.close()
    assert understood["last_intent"] == "human_handoff"
    assert understood["form"] == "eligibility_form" and understood["elig_age"] == 87
    assert lines[-1] == ("citizen", "转人工")
