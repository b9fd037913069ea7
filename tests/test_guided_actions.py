"""The Rasa adapters of the guided forms (actions/guided.py), run as the action server
runs them: Tracker.from_dict, a CollectingDispatcher and the real domain."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, Dict, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import OperationalError

from actions import actions as A
from actions import backend
from actions import guided as G


@pytest.fixture(autouse=True)
def use_test_catalog(monkeypatch, catalog_url):
    monkeypatch.setenv("MINZHENG_DB_URL", catalog_url)
    monkeypatch.setenv("MINZHENG_HOTLINE", "12345")
    backend.reset()
    G.reset()
    yield
    backend.reset()
    G.reset()


def tracker(text: str, intent: Optional[str], slots: Dict[str, Any], rasa_domain, confidence: float = 0.95,
            active_loop: Optional[str] = None, sender: str = "tg-42",
            metadata: Optional[Dict[str, Any]] = None) -> Tracker:
    all_slots = {name: None for name in rasa_domain.as_dict()["slots"]}
    all_slots.update(slots)
    return Tracker.from_dict({
        "sender_id": sender,
        "slots": all_slots,
        "latest_message": {"text": text, "intent": {"name": intent, "confidence": confidence} if intent else {},
                           "entities": [], "intent_ranking": [], "metadata": metadata or {}},
        "events": [], "paused": False, "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
    })


async def run(action, t, rasa_domain):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, rasa_domain.as_dict())
    return dispatcher.messages, events


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def action(name: str):
    return next(cls for cls in G.VALIDATIONS + G.SUBMITS if cls().name() == name)()


async def test_every_form_in_the_domain_has_its_two_actions(rasa_domain):
    domain = rasa_domain.as_dict()
    names = {cls().name() for cls in G.VALIDATIONS + G.SUBMITS}
    for form, spec in domain["forms"].items():
        assert f"validate_{form}" in names and f"action_submit_{form}" in names
        for slot in spec["required_slots"]:
            assert slot in domain["slots"], slot
    assert names <= set(domain["actions"])


async def test_validation_at_activation_reads_the_first_message_and_asks(rasa_domain):
    t = tracker("我妈今年八十五了，住在杭州，帮我算算能领哪些补贴", "check_eligibility", {}, rasa_domain)
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    slots = slots_of(events)
    assert slots["elig_age"] == 85 and slots["region"] == "zhejiang-hangzhou"
    assert slots["requested_slot"] == "elig_hukou"
    assert len(msgs) == 1 and "户籍" in msgs[0]["text"]
    assert [b["payload"] for b in msgs[0]["buttons"]][:2] == ["是", "不是"]


async def test_the_disability_grade_slot_is_in_the_domain_and_the_form(rasa_domain):
    domain = rasa_domain.as_dict()
    assert domain["forms"]["eligibility_form"]["required_slots"][-1] == "elig_disability"
    assert {"elig_disability", "elig_disability_cue"} <= set(domain["slots"])
    assert set(G.guided().form("eligibility_form").slots) <= set(domain["slots"])


async def test_a_grade_in_the_first_message_is_set_at_activation(rasa_domain):
    t = tracker("我爸是一级肢体残疾，今年78岁，住在杭州，能领什么补贴", "check_eligibility", {}, rasa_domain)
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    slots = slots_of(events)
    assert slots["elig_disability"] == 1 and slots["elig_age"] == 78
    assert slots["requested_slot"] == "elig_economic"


async def test_opened_from_the_disability_guide_the_grade_is_asked_last(rasa_domain):
    done = {"elig_age": 78.0, "region": "zhejiang-hangzhou", "elig_economic": "dibao", "elig_care": "intact",
            "elig_care_assessed": True}
    t = tracker("能自理", None, {**done, "requested_slot": "elig_care", "service": "disability.two_subsidies"},
                rasa_domain, active_loop="eligibility_form")
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    assert slots_of(events)["requested_slot"] == "elig_disability"
    assert "残疾人证" in msgs[0]["text"] and [b["payload"] for b in msgs[0]["buttons"]][:2] == ["一级", "二级"]
    # the same answers without the disability guide behind them: the form ends
    t = tracker("能自理", None, {**done, "requested_slot": "elig_care", "service": "elder.care_subsidy"},
                rasa_domain, active_loop="eligibility_form")
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    assert slots_of(events)["requested_slot"] is None and msgs == []

    t = tracker("二級", None, {**done, "requested_slot": "elig_disability", "service": "disability.two_subsidies"},
                rasa_domain, active_loop="eligibility_form")
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    slots = slots_of(events)
    assert slots["elig_disability"] == 2 and slots["requested_slot"] is None
    t = tracker("二級", None, {**done, "elig_disability": 2.0}, rasa_domain)
    msgs, events = await run(action("action_submit_eligibility_form"), t, rasa_domain)
    text = msgs[0]["text"]
    assert msgs[0]["custom"]["kind"] == "eligibility_result"
    assert "【符合】困难残疾人生活补贴" in text and "国发〔2015〕52号" in text
    assert "【可能符合】重度残疾人护理补贴" in text and "需要长期照护" in text  # the elder 能自理
    assert slots_of(events)["elig_disability"] is None and slots_of(events)["elig_disability_cue"] is None


async def test_validation_mid_form_with_an_unreadable_answer_keeps_the_form_running(rasa_domain):
    t = tracker("啥意思", "nlu_fallback", {"requested_slot": "elig_age"}, rasa_domain, active_loop="eligibility_form")
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    slots = slots_of(events)
    # a slot other than requested_slot is set, so Rasa does not reject the form
    assert slots["requested_slot"] == "elig_age" and slots["form_retry"] == "elig_age"
    assert msgs[0]["text"].startswith("抱歉")


async def test_stop_then_submit(rasa_domain):
    t = tracker("算了不测了", "stop", {"requested_slot": "elig_hukou", "elig_age": 85.0}, rasa_domain,
                active_loop="eligibility_form")
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    slots = slots_of(events)
    assert slots["requested_slot"] is None and slots["form_exit"] == "stop" and slots["elig_age"] is None
    assert msgs == []
    t2 = tracker("算了不测了", "stop", {"form_exit": "stop"}, rasa_domain)
    msgs, events = await run(action("action_submit_eligibility_form"), t2, rasa_domain)
    assert "已退出" in msgs[0]["text"] and slots_of(events)["form_exit"] is None


async def test_handoff_from_a_form_runs_the_handoff_action_next(rasa_domain):
    t = tracker("转人工", "human_handoff", {"form_exit": "handoff", "elig_age": 85.0}, rasa_domain)
    msgs, events = await run(action("action_submit_eligibility_form"), t, rasa_domain)
    assert msgs == []
    assert {"event": "followup", "name": "action_human_handoff"} in [
        {"event": e["event"], "name": e.get("name")} for e in events]


async def test_switch_goes_to_the_guide_or_the_other_form(rasa_domain):
    for intent, followup in (("marriage_register", "action_service_guide"), ("check_status", "status_form")):
        t = tracker("x", intent, {}, rasa_domain)
        _, events = await run(G.ActionAfterFormSwitch(), t, rasa_domain)
        assert events[-1]["event"] == "followup" and events[-1]["name"] == followup


async def test_status_submit_uses_the_conversation_and_clears_the_digits(rasa_domain):
    t = tracker("1111", None, {"status_number": "CZ2026100023", "status_last4": "1111"}, rasa_domain)
    msgs, events = await run(action("action_submit_status_form"), t, rasa_domain)
    assert msgs[0]["custom"]["kind"] == "status_found" and "李*" in msgs[0]["text"]
    assert slots_of(events)["status_last4"] is None


async def test_backend_down_mid_form_apologises_and_keeps_the_answers(rasa_domain, monkeypatch):
    from bot.guided.forms import EligibilityForm

    def broken(*args):
        raise OperationalError("select", {}, Exception("db down"))

    monkeypatch.setattr(EligibilityForm, "turn", broken)
    slots = {"requested_slot": "region", "elig_age": 87}
    t = tracker("杭州", None, slots, rasa_domain, active_loop="eligibility_form")
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    assert msgs[0]["custom"]["kind"] == "unavailable" and "12345" in msgs[0]["text"]
    assert "保留" in msgs[0]["text"]
    # the form stays active, nothing is cleared, the same question is pending
    assert not any(e["event"] == "active_loop" for e in events)
    assert slots_of(events) == {"requested_slot": "region"}


async def test_backend_down_as_a_form_starts_apologises_and_ends_it(rasa_domain, monkeypatch):
    from bot.guided.forms import EligibilityForm

    def broken(*args):
        raise OperationalError("select", {}, Exception("db down"))

    monkeypatch.setattr(EligibilityForm, "turn", broken)
    t = tracker("帮我算算养老补贴", "check_eligibility", {}, rasa_domain)
    msgs, events = await run(action("validate_eligibility_form"), t, rasa_domain)
    assert msgs[0]["custom"]["kind"] == "unavailable" and "12345" in msgs[0]["text"]
    assert {"event": "active_loop", "name": None} in [{"event": e["event"], "name": e.get("name")} for e in events]


async def test_progress_and_steps_follow_ups(rasa_domain):
    slots = {"fun_place": "home", "fun_natural": True, "region": "zhejiang-hangzhou", "fun_done": []}
    msgs, events = await run(G.ActionFuneralProgress(), tracker("第1步办好了", "progress", slots, rasa_domain),
                             rasa_domain)
    assert slots_of(events)["fun_done"] == [1] and "第2步" in msgs[0]["text"]
    # "下一步呢" read as ask_steps while a checklist is open goes to the checklist
    _, events = await run(A.ActionServiceSection(), tracker("下一步呢", "ask_steps", {**slots, "fun_done": [1],
                                                                                  "service": "funeral.after_death"},
                                                            rasa_domain), rasa_domain)
    assert events == [{"event": "followup", "name": "action_funeral_progress", "timestamp": None}] or \
        events[-1]["name"] == "action_funeral_progress"
    # "下一步" after an ordinary guide: that guide's steps
    _, events = await run(G.ActionFuneralProgress(), tracker("下一步", "progress", {"service": "marriage.register"},
                                                            rasa_domain), rasa_domain)
    assert events[-1]["name"] == "action_service_section"


async def test_a_service_question_about_progress_goes_to_the_status_lookup(rasa_domain):
    t = tracker("我的低保申请办到哪一步了", "assistance_dibao", {}, rasa_domain)
    _, events = await run(A.ActionServiceGuide(), t, rasa_domain)
    assert events[-1]["event"] == "followup" and events[-1]["name"] == "status_form"
    msgs, events = await run(A.ActionServiceGuide(), tracker("低保怎么申请", "assistance_dibao", {}, rasa_domain),
                             rasa_domain)
    assert msgs and not any(e["event"] == "followup" for e in events)


def test_the_client_comes_from_the_metadata_else_the_sender(rasa_domain):
    t = tracker("x", None, {}, rasa_domain, sender="web-1", metadata={"channel": "web", "client": "ab12"})
    assert G.client_of(t) == "c:ab12"
    assert G.client_of(tracker("x", None, {}, rasa_domain, sender="web-2")) == "s:web-2"
    assert G.client_of(tracker("x", None, {}, rasa_domain, sender="web-3", metadata={"client": 7})) == "s:web-3"


async def test_status_lookups_from_rotating_sender_ids_hit_the_client_limit(rasa_domain):
    from bot import status_lookup

    client = {"channel": "web", "client": uuid.uuid4().hex[:24]}
    for i in range(status_lookup.MAX_CLIENT_FAILURES):
        t = tracker("0000", None, {"status_number": f"QX{uuid.uuid4().hex[:10].upper()}", "status_last4": "0000"},
                    rasa_domain, sender=f"web-rotating-{i}", metadata=client)
        msgs, _ = await run(action("action_submit_status_form"), t, rasa_domain)
        assert msgs[0]["custom"]["kind"] == "status_not_found"
    t = tracker("1111", None, {"status_number": "CZ2026100023", "status_last4": "1111"}, rasa_domain,
                sender="web-rotating-new", metadata=client)
    msgs, events = await run(action("action_submit_status_form"), t, rasa_domain)
    assert msgs[0]["custom"]["kind"] == "status_throttled"
    assert "分钟后再试" in msgs[0]["text"] and "12345" in msgs[0]["text"] and "李" not in msgs[0]["text"]
    assert slots_of(events)["status_last4"] is None
    # the applicant, from another address, is served
    t = tracker("1111", None, {"status_number": "CZ2026100023", "status_last4": "1111"}, rasa_domain,
                sender="web-owner", metadata={"channel": "web", "client": uuid.uuid4().hex[:24]})
    msgs, _ = await run(action("action_submit_status_form"), t, rasa_domain)
    assert msgs[0]["custom"]["kind"] == "status_found"


async def test_a_booking_code_guessed_from_rotating_senders_gets_locked(rasa_domain, catalog_url):
    from bot import booking_guard
    from bot.booking import BookingService

    svc = BookingService(catalog_url)
    office, kind = "zhejiang-hangzhou-xihu-marriage", "marriage"
    day = svc.availability(office, kind, date.today() + timedelta(days=1), days=1)[0]
    slot = next(s for s in day.slots if s.free)
    code = svc.book(office, kind, day.day, slot.start, "张三", "13800139876").booking.code

    def submit(last4: str, i: int):
        slots = {"mb_code": code, "mb_last4": last4, "mb_op": "cancel", "mb_confirm": True}
        return run(action("action_submit_manage_booking_form"),
                   tracker("确认取消", None, slots, rasa_domain, sender=f"web-guess-{i}"), rasa_domain)

    for i in range(booking_guard.CODE_FAILURES):  # no metadata: each sender id counts as its own client
        msgs, _ = await submit(f"{i:04d}", i)
        assert msgs[0]["custom"]["kind"] == "booking_not_found"
    msgs, events = await submit("9876", 99)
    assert msgs[0]["custom"]["kind"] == "booking_locked"
    assert "12345" in msgs[0]["text"] and "手机" not in msgs[0]["text"] and code not in msgs[0]["text"]
    assert slots_of(events)["mb_last4"] is None
    assert svc.find(code, "9876", "c:office-check") is None and svc.access(code, "9876").outcome == "locked"
    svc.unlock(code)
    assert svc.find(code, "9876").status == "booked"


async def test_a_booking_turn_run_twice_books_once(rasa_domain):
    """Production mode: the gateway sends a turn again, with the same turn id, when its
    Rasa replica died during it; the booking it made the first time is the answer."""
    from bot.rasa_client import TURN_KEY

    office = "zhejiang-hangzhou-xihu-marriage"
    svc = G.guided().booking()
    day = next(d for d in svc.availability(office, "marriage", days=14) if d.free >= 2)
    start = next(s.start for s in day.slots if s.free >= 2)
    slots = {"book_kind": "marriage", "book_office": office, "book_day": day.day.isoformat(), "book_time": start,
             "book_name": "张三", "book_phone": "13800131234", "book_confirm": True,
             "book_groom_birth": "1995-01-01", "book_bride_birth": "1996-01-01", "region": "zhejiang-hangzhou-xihu"}

    def booked() -> int:
        return next(s.booked for s in svc.day(office, "marriage", day.day).slots if s.start == start)

    before = booked()
    codes = []
    for turn in ("t-1", "t-1", "t-2"):
        t = tracker("确认", "affirm", slots, rasa_domain, sender="web-idem", active_loop=None,
                    metadata={"channel": "web", TURN_KEY: turn})
        msgs, _ = await run(action("action_submit_booking_form"), t, rasa_domain)
        assert msgs[0]["custom"]["kind"] == "booking_done", msgs[0]["text"]
        codes.append(msgs[0]["text"].split("确认码：")[1][:8])
    assert codes[0] == codes[1] != codes[2]
    assert booked() == before + 2
