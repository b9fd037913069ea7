"""Bad input in all its forms: normalisation, ages, channel checks (with Hypothesis)."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ages import parse_age
from bot.channel_input import MAX_TEXT, prepare_payload, prepare_text
from bot.normalize import has_meaningful_text, normalize
from bot.rasa_reply import merge_messages


@pytest.mark.parametrize("raw,expected", [
    ("請問結婚登記要帶什麼證件", "请问结婚登记要带什么证件"),
    ("我媽九十歲了，高齡津貼怎麼領？", "我妈九十岁了,高龄津贴怎么领?"),
    ("８５岁　老人", "85岁 老人"),
    ("  低保\n\n申请 ", "低保 申请"),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@given(st.text(max_size=3000))
@settings(max_examples=200, deadline=None)
def test_normalize_never_fails_and_bounds_length(text):
    out = normalize(text)
    assert isinstance(out, str) and len(out) <= 1000


@pytest.mark.parametrize("text,age", [
    ("85", 85), ("八十五岁", 85), ("85周岁了", 85), ("我奶奶九十多岁了", 90), ("一百零一岁", 101),
    ("１００岁", 100), ("今年都九十多了", 90), ("八十五了", 85), ("我媽八十歲", 80),
])
def test_parse_age(text, age):
    assert parse_age(text) == age


def test_parse_birth_year():
    today = dt.date(2026, 11, 22)
    assert parse_age("1940年出生", today) == 86
    assert parse_age("一九四〇年出生的", today) == 86


@pytest.mark.parametrize("text", ["", "结婚登记", "等了三十天了", "12345", "😀"])
def test_parse_age_none(text):
    assert parse_age(text) is None


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_parse_age_total(text):
    age = parse_age(text)
    assert age is None or 0 <= age <= 130


def test_prepare_text():
    assert prepare_text("").problem == "empty"
    assert prepare_text("   \n").problem == "empty"
    assert prepare_text("/greet").message == "greet"  # typed text is never an intent payload
    assert prepare_text("／restart").message == "restart"
    assert len(prepare_text("低" * 5000).message) == MAX_TEXT


@given(st.text(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_prepare_text_never_yields_a_payload(text):
    p = prepare_text(text)
    assert (p.message is None) == (p.problem == "empty")
    if p.message is not None:
        assert not p.message.startswith("/") and len(p.message) <= MAX_TEXT


@pytest.mark.parametrize("payload,ok", [
    ("/marriage_register", True),
    ('/inform_region{"region":"杭州"}', True),
    ("/ask_materials", True),
    ("/no_such_intent", False),
    ("确认", True),  # a form button's answer in words: typed text
    ("／greet", False),
    ('/inform_region{"password":"x"}', False),
    ("/inform_region{not json}", False),
    ("marriage_register", True),  # words, not an intent: read by NLU like typed text
    ("", False),
    ("/restart", False),
])
def test_prepare_payload(payload, ok):
    p = prepare_payload(payload)
    assert (p.message is not None) == ok
    if not ok:
        assert p.problem == "unknown_payload"


def test_has_meaningful_text():
    assert not has_meaningful_text("😀😀!!")
    assert has_meaningful_text("低保")


def test_merge_messages_joins_text_and_custom():
    raw = [
        {"recipient_id": "u", "text": "A", "buttons": [{"title": "t", "payload": "/ask_steps"}]},
        {"recipient_id": "u", "custom": {"kind": "guide", "service": "assistance.dibao", "html": "<b>A</b>"}},
        {"recipient_id": "u", "text": "B"},
    ]
    out = merge_messages(raw)
    assert [m["text"] for m in out] == ["A", "B"]
    assert out[0]["html"] == "<b>A</b>" and out[0]["service"] == "assistance.dibao"
    assert out[1]["kind"] is None
