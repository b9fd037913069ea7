"""Fuzz drivers for what every channel shares, run in-process: QR entry-point payloads
(bot.entry, bot.channel_input) and the answers to the guided forms (booking, changing a
booking, status lookup, eligibility, funeral checklist), through the parsers of
bot/guided/parse.py and the forms' own turn/submit loop.

A crash is any exception; a lost message is a form turn that asks for a slot without
a question, a form that ends without an answer, or a known QR code whose message the
channels would refuse.
"""
from __future__ import annotations

import random
import time
from datetime import date
from typing import Any, Dict, List, Optional, Sequence

from .fuzz_inputs import CITIZEN_MESSAGES, NASTY, Tally, bad_text, mutate, payload, random_text

TODAY = date(2026, 11, 25)


# ------------------------------------------------------------------------------ QR payloads

def qr_payload(rng: random.Random, entries: List[str]) -> Any:
    real = rng.choice(entries) if entries else "hz-xihu-marriage"
    r = rng.random()
    if r < 0.2:
        return real
    if r < 0.45:
        return mutate(rng, real)
    if r < 0.6:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_"
        return "".join(rng.choice(alphabet) for _ in range(rng.choice((1, 8, 40, 64, 65, 200))))
    if r < 0.7:
        return rng.choice((f"https://t.me/bot?start={real}", f"?entry={real}&entry=x", f"{real}\n", f" {real}",
                           real.upper(), real + "%00", f"{real}/../x", "/start " + real))
    if r < 0.8:
        return rng.choice((None, 0, 12, [real], {"entry": real}, b"x", 3.5, True))
    return bad_text(rng)


def fuzz_qr(db_url: str, n: int, seed: int = 5, entries: Optional[List[str]] = None) -> Tally:
    from bot import entry
    from bot.catalog.queries import Catalog
    from bot.channel_input import prepare_payload, prepare_text

    rng = random.Random(seed)
    catalog = Catalog(db_url, "12345")
    entries = entries or []
    tally = Tally("QR payloads")
    started = time.monotonic()
    for _ in range(n):
        raw = qr_payload(rng, entries)
        tally.inputs += 1
        try:
            message = entry.rasa_message(catalog, raw)
            entry.valid_entry_id(raw)
            if isinstance(raw, str):
                prepare_payload(raw)
                prepare_text(raw)
                if entry.valid_entry_id(raw):
                    entry.telegram_link("minzheng_bot", raw)
                    entry.web_link("https://chat.example.gov.cn", raw)
        except Exception as exc:  # noqa: BLE001
            tally.crash("bot.entry / bot.channel_input", raw, exc)
            continue
        if raw in entries:
            tally.valid += 1
            if message is None or prepare_payload(message).message is None:
                tally.failure("lost", "known QR code", raw, f"opens nothing: {message!r}")
            else:
                tally.replied += 1
        tally.statuses["opens a service" if message else "welcome"] += 1
    tally.seconds = time.monotonic() - started
    return tally


# ------------------------------------------------------------------------------ parsers

def _parse_calls():
    from bot.guided import parse

    slots = [("09:00", "10:00"), ("10:00", "11:00"), ("14:00", "15:00")]
    return [
        ("parse_birth_date", lambda t: parse.parse_birth_date(t, TODAY)),
        ("parse_day", lambda t: parse.parse_day(t, TODAY)),
        ("parse_time", lambda t: parse.parse_time(t, slots)),
        ("parse_time(bare)", lambda t: parse.parse_time(t, ["09:00", "14:00"])),
        ("parse_name", parse.parse_name),
        ("parse_phone", parse.parse_phone),
        ("parse_last4", lambda t: parse.parse_last4(t, bare=True)),
        ("parse_booking_code", parse.parse_booking_code),
        ("parse_application_number", parse.parse_application_number),
        ("parse_confirm", parse.parse_confirm),
        ("choose", lambda t: parse.choose(t, ["杭州市西湖区婚姻登记处", "上城区婚姻登记处", "拱墅区"])),
        ("guided_route", parse.guided_route),
        ("is_question", parse.is_question),
    ]


# answers that look like what each question wants, to get deep into the forms
_PLAUSIBLE = (
    "结婚登记", "离婚", "补领结婚证", "杭州", "西湖区", "杭州市西湖区婚姻登记处", "第1个", "1", "2", "1998年3月2日",
    "2000-05-01", "98.3.2", "明天", "下周三", "12月3日", "12月5日", "9点", "09:00", "下午两点", "上午", "张三",
    "Anna Schmidt", "13800131234", "+86 138 0013 1234", "1234", "尾号6666", "确认", "是", "不是", "不对", "改",
    "K7QH2M9T", "ABCDEFGH", "HZ2026110001", "MZ2026110001 1234", "查看", "取消", "改约", "跳过", "不知道", "87岁",
    "八十五", "1940年出生", "本地户口", "低保户", "都不是", "基本上卧床了", "在医院走的", "在家里", "病故", "退休职工",
    "第一步办好了", "下一步", "算了", "转人工",
)
_INTENTS = (None,) * 60 + ("stop", "human_handoff", "skip", "affirm", "deny", "inform_region", "assistance_dibao",
            "marriage_register", "check_status", "book_appointment", "manage_booking", "other_question", "greet",
            "nonexistent_intent")


# what each question wants (by a part of the slot's name), to finish forms as often as to break them
_FOR_SLOT = (
    ('kind', ('结婚登记', '离婚登记', '结婚')),
    ('office', ('杭州市西湖区婚姻登记处', '第1个', '1', '西湖区')),
    ('birth', ('1998年3月2日', '2000-05-01', '1990.1.1', '2010年1月1日')),
    ('day', ('12月3日', '明天', '下周三', '12月5日')),
    ('time', ('9点', '09:00', '下午两点', '上午', '第1个')),
    ('name', ('张三', '李小红', 'Anna Schmidt')),
    ('phone', ('13800131234', '+86 138 0013 1234')),
    ('confirm', ('确认', '是', '不对', '改')),
    ('code', ('K7QH2M9T', 'ABCDEFGH', 'HZ2026110001')),
    ('last4', ('1234', '6666', '尾号1234')),
    ('number', ('HZ2026110001', 'MZ2026110001')),
    ('op', ('查看', '取消', '改约')),
    ('region', ('杭州', '西湖区')),
    ('age', ('87岁', '八十五', '1940年出生')),
    ('hukou', ('是', '本地户口', '不是')),
    ('economic', ('都不是', '低保户')),
    ('care', ('基本上卧床了', '能自理', '没做过评估')),
    ('place', ('在医院走的', '在家里')),
    ('natural', ('病故', '是')),
    ('pension', ('退休职工', '没有')),
    ('income', ('不是', '是低保户')),
)


def answer_for(rng: random.Random, slot: Optional[str], codes: Sequence[str] = ()) -> str:
    """An answer for the question about ``slot``; ``codes`` are confirmation codes of real bookings."""
    if slot and "code" in slot and codes and rng.random() < 0.5:
        return rng.choice(codes) + rng.choice(("", " 尾号1234", " 1234"))
    if slot and rng.random() < 0.6:
        for part, answers in _FOR_SLOT:
            if part in slot:
                return rng.choice(answers)
    return answer(rng)


def answer(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:
        return rng.choice(_PLAUSIBLE)
    if r < 0.65:
        return rng.choice(_PLAUSIBLE) + rng.choice(("", "，", " ")) + rng.choice(_PLAUSIBLE)
    if r < 0.75:
        return mutate(rng, rng.choice(_PLAUSIBLE))
    if r < 0.85:
        return rng.choice(NASTY)
    return bad_text(rng)


def fuzz_forms(db_url: str, n: int, seed: int = 6) -> Tally:
    """``n`` random answers: a share straight into the parsers, the rest into form conversations."""
    from bot.assistant import Assistant
    from bot.catalog.queries import Catalog
    from bot.guided.forms import FORMS, Guided, Message

    rng = random.Random(seed)
    tally = Tally("booking and status-lookup answers")
    started = time.monotonic()
    calls = _parse_calls()
    for _ in range(n // 4):
        text = answer(rng)
        name, fn = rng.choice(calls)
        tally.inputs += 1
        try:
            fn(text)
        except Exception as exc:  # noqa: BLE001
            tally.crash(f"parse.{name}", text, exc)
    guided = Guided(Assistant(Catalog(db_url, "12345")), db_url, today=lambda: TODAY)
    codes: List[str] = []
    names = [cls.name for cls in FORMS]
    weights = [3 if nm in ("booking_form", "manage_booking_form", "status_form") else 1 for nm in names]
    while tally.inputs < n:
        form_name = rng.choices(names, weights)[0]
        form = guided.form(form_name)
        conversation = f"fuzz-{rng.randrange(10**9)}"
        state: Dict[str, Any] = {"requested_slot": None, "_conversation": conversation,
                                 "_client": f"client-{rng.randrange(50)}", "_starting": True}
        if rng.random() < 0.3:
            state["region"] = rng.choice(("zhejiang-hangzhou", "zhejiang-hangzhou-xihu", "nonexistent-region", None))
        first = rng.choice((rng.choice(CITIZEN_MESSAGES), answer(rng), ""))
        text, intent = first, form.intent
        for _ in range(rng.randint(1, 20)):
            tally.inputs += 1
            message = Message(text, intent, rng.choice((0.0, 0.3, 0.69, 0.71, 0.95, 1.0)), conversation)
            try:
                turn = form.turn(message, state)
                state.update(turn.updates)
                state["requested_slot"] = turn.requested
                state["_starting"] = False
                if turn.requested is not None:
                    if turn.reply is None or not (turn.reply.text or "").strip():
                        tally.failure("lost", f"{form_name}.turn", text, f"asked {turn.requested} without a question")
                    else:
                        tally.replied += 1
                    tally.valid += 1
                    text, intent = answer_for(rng, turn.requested, codes), rng.choice(_INTENTS)
                    continue
                outcome = form.submit(state)
                state.update(outcome.updates)
                exit_ = turn.exit
                tally.valid += 1
                if outcome.reply is None and outcome.followup is None and exit_ not in ("unavailable",):
                    tally.failure("lost", f"{form_name}.submit", text, f"ended ({exit_}) without an answer")
                else:
                    tally.replied += 1
                if outcome.reply is not None and "确认码：" in outcome.reply.text:
                    codes.append(outcome.reply.text.split("确认码：", 1)[1][:8])
                tally.statuses[f"{form_name}: {exit_ or (outcome.reply.kind if outcome.reply else 'followup')}"] += 1
                break
            except Exception as exc:  # noqa: BLE001
                tally.crash(f"{form_name}", {"text": text, "intent": intent, "state": _public(state)}, exc)
                break
    tally.seconds = time.monotonic() - started
    return tally


def _public(state: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in state.items() if v is not None}


def random_answers(rng: random.Random, k: int) -> List[str]:
    return [answer(rng) for _ in range(k)]


__all__ = ["fuzz_forms", "fuzz_qr", "answer", "qr_payload", "random_answers", "payload", "random_text"]
