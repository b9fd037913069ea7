"""The short version of the reliability battery (``make reliability`` runs the long one):
a few hundred bad inputs per entry point, in-process against a fake Rasa, plus
Hypothesis properties of what every channel shares. Pass: no server error, no crash,
no lost message. The slow test breaks the real action server in the middle of a
booking and checks that the citizen gets the hotline and the booking then completes.
"""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fuzz_domain import TODAY, fuzz_forms, fuzz_qr
from .fuzz_http import HOTLINE, WebEnv, fuzz_console, fuzz_database, fuzz_feedback, fuzz_web_chat
from .fuzz_inputs import NASTY, failure_text
from .fuzz_telegram import fuzz_telegram

N = 300


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory) -> str:
    return fuzz_database(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture
async def env(fuzz_db):
    e = await WebEnv.start(fuzz_db)
    yield e
    await e.close()


def passed(*tallies) -> None:
    problems = failure_text(list(tallies))
    assert problems is None, problems
    for t in tallies:
        assert t.inputs >= N


async def test_web_chat_api(env):
    t = await fuzz_web_chat(env, N)
    passed(t)
    assert t.valid > 20 and t.replied == t.valid, "real citizen messages were answered"


async def test_feedback_api(env):
    passed(await fuzz_feedback(env, N))


async def test_console_api(env):
    passed(await fuzz_console(env, N))


async def test_telegram_updates(fuzz_db, env):
    t = await fuzz_telegram(fuzz_db, N, entries=env.entries)
    passed(t)
    assert t.valid > 50 and t.replied == t.valid


async def test_qr_payloads(fuzz_db, env):
    t = fuzz_qr(fuzz_db, N, entries=env.entries)
    passed(t)
    assert t.valid > 10


def test_booking_and_status_answers(fuzz_db):
    t = fuzz_forms(fuzz_db, N)
    passed(t)
    assert t.valid > 100


# -- properties ---------------------------------------------------------------------------

TEXT = st.one_of(st.text(max_size=200), st.sampled_from(NASTY),
                 st.from_regex(r"/[a-z_]{1,20}(\{.{0,40}\})?", fullmatch=True))
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@QUICK
@given(TEXT)
def test_channel_input_never_fails_and_never_passes_a_typed_intent(text):
    from bot.channel_input import MAX_TEXT, prepare_payload, prepare_text

    typed = prepare_text(text)
    assert (typed.message is None) == (typed.problem is not None)
    if typed.message is not None:
        assert not typed.message.startswith(("/", "／")) and len(typed.message) <= MAX_TEXT
    button = prepare_payload(text)
    assert (button.message is None) == (button.problem is not None)


@QUICK
@given(st.one_of(st.text(max_size=80), st.none(), st.integers(), st.from_regex(r"[a-z0-9-]{1,70}", fullmatch=True)))
def test_qr_lookup_never_fails(catalog, raw):
    from bot import entry
    from bot.channel_input import prepare_payload

    message = entry.rasa_message(catalog, raw)
    assert message is None or prepare_payload(message).message == message


@QUICK
@given(TEXT)
def test_parsers_never_fail(text):
    from bot.guided import parse

    day = parse.parse_day(text, TODAY)
    assert day is None or isinstance(day, date)
    born = parse.parse_birth_date(text, TODAY)
    assert born is None or born <= TODAY
    phone = parse.parse_phone(text)
    assert phone is None or (len(phone) == 11 and phone.isdigit())
    last4 = parse.parse_last4(text, bare=True)
    assert last4 is None or (len(last4) == 4 and last4.isdigit())
    for fn in (parse.parse_name, parse.parse_booking_code, parse.parse_application_number, parse.parse_confirm,
               parse.guided_route, lambda t: parse.parse_time(t, [("09:00", "10:00"), ("14:00", "15:00")]),
               lambda t: parse.choose(t, ["西湖区婚姻登记处", "上城区婚姻登记处"])):
        fn(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.sampled_from(["booking_form", "manage_booking_form", "status_form"]),
       answers=st.lists(TEXT, min_size=1, max_size=6))
def test_forms_always_ask_or_answer(fuzz_db, assistant, form, answers):
    from bot.guided.forms import Guided, Message

    guided = Guided(assistant, fuzz_db, today=lambda: TODAY)
    f = guided.form(form)
    state = {"requested_slot": None, "_conversation": "hypothesis", "_client": "hypothesis", "_starting": True}
    for i, text in enumerate(answers):
        turn = f.turn(Message(text, f.intent if i == 0 else None, 0.9, "hypothesis"), state)
        state.update(turn.updates)
        state["requested_slot"], state["_starting"] = turn.requested, False
        if turn.requested is None:
            outcome = f.submit(state)
            assert outcome.reply is not None or outcome.followup is not None or turn.exit == "unavailable"
            break
        assert turn.reply is not None and turn.reply.text.strip()


# -- a fault with the real servers --------------------------------------------------------

@pytest.mark.slow
async def test_action_server_stopped_mid_booking(live_stack, catalog_url):
    """The citizen gets the hotline while the action server is down; after its restart the
    same answer is taken and the booking completes."""
    import uuid

    from aiohttp import ClientSession, CookieJar

    from bot.booking import BookingService

    free = BookingService(catalog_url).availability("zhejiang-hangzhou-xihu-marriage", "marriage", days=10)
    day = next(d for d in free if d.free > 0)
    start = next(s.start for s in day.slots if s.free > 0)
    script = ["帮我预约结婚登记", "西湖区", "杭州市西湖区婚姻登记处", "1998年3月2日", "2000年5月1日",
              f"{day.day.month}月{day.day.day}日", start, "李四", "13800135678", "确认"]
    url = live_stack.web_url.rstrip("/") + "/api/chat"
    sender = f"fault{uuid.uuid4().hex[:16]}"
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        async def say(text):
            async with http.post(url, json={"sender": sender, "text": text}) as resp:
                assert resp.status == 200
                body = await resp.json()
                return body, "\n".join(m["text"] or "" for m in body["messages"])

        for line in script[:2]:
            await say(line)
        live_stack.stop_process("actions")
        try:
            body, text = await say(script[2])
            assert body["ok"] is False and HOTLINE in text
        finally:
            live_stack.start_process("actions")
        for line in script[2:]:
            body, text = await say(line)
        assert "预约成功" in text and "确认码：" in text
