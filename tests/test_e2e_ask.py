"""End to end: the real servers and model, asked through `python -m bot ask`."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT

from .conftest import require_model

pytestmark = pytest.mark.slow
KEYS = {"text", "intent", "confidence", "service", "reply"}


def ask(lines, *args, env=None, timeout=600):
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "ask", *args],
        input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(out) == len(lines)
    for row, line in zip(out, lines, strict=True):
        assert set(row) == KEYS and row["text"] == line
    return out


@pytest.fixture(scope="module")
def url_args(live_stack):
    return ["--url", live_stack.rasa_url, "--token", live_stack.token]


def test_single_questions(url_args):
    out = ask([
        "请问在杭州结婚登记要带什么材料",
        "秦皇島的低保怎麼申請",
        "我奶奶85岁了，在郴州，高龄津贴能领多少",
        "明天天气怎么样",
        "你好",
        "😀😀😀",
        "",
    ], *url_args)
    marriage, dibao, allowance, weather, hello, emoji, empty = out
    assert marriage["service"] == "marriage.register" and marriage["intent"] == "marriage_register"
    assert "杭州" in marriage["reply"] and "身份证" in marriage["reply"]
    assert dibao["service"] == "assistance.dibao" and "秦皇岛" in dibao["reply"]
    assert allowance["service"] == "elder.age_allowance" and "按85岁计算" in allowance["reply"]
    assert weather["service"] is None and "不在我的服务范围" in weather["reply"]
    assert hello["intent"] == "greet" and hello["service"] is None and hello["reply"]
    assert emoji["service"] is None and emoji["reply"]
    assert empty["service"] is None and "没有收到文字" in empty["reply"]
    assert 0 <= marriage["confidence"] <= 1


def test_conversation_mode_remembers_the_region(url_args):
    out = ask(["我想办理结婚登记", "我在西湖区", "要带什么材料", "离婚冷静期是多久"], *url_args, "--conversation")
    first, region, materials, divorce = out
    # answered first (the national rule), the city offered after the answer
    assert first["service"] == "marriage.register" and "哪个城市" in first["reply"]
    assert region["service"] == "marriage.register" and "西湖区" in region["reply"]
    assert materials["service"] == "marriage.register" and "所需材料" in materials["reply"]
    # the region is remembered: no second question, Hangzhou's guide
    assert divorce["service"] == "marriage.divorce" and "杭州" in divorce["reply"]


def test_ask_starts_and_stops_its_own_servers(catalog_url):
    require_model()
    out = ask(["营口鲅鱼圈区结婚登记在哪里办"], env={"MINZHENG_DB_URL": catalog_url})
    assert out[0]["service"] == "marriage.register" and "营口" in out[0]["reply"]


def test_conversations_are_stored_in_postgres(live_stack, pg_database, url_args):
    from sqlalchemy import text

    from bot.catalog.db import get_engine

    ask(["低保怎么申请"], *url_args)
    _, url = pg_database
    with get_engine(url).connect() as conn:
        senders = conn.execute(text("SELECT count(DISTINCT sender_id) FROM events")).scalar_one()
    assert senders >= 1
