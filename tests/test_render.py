"""Guide rendering: sections in order, both formats, escaping, sample notices."""
from __future__ import annotations

import dataclasses

from bot import render
from bot.assistant import FOLLOW_UPS, GUIDE_NEXT


def test_guide_sections_in_order(assistant):
    reply = assistant.guide("marriage.register", "zhejiang-hangzhou")
    text = reply.text
    order = ["结婚登记", "【办理条件】", "【所需材料】", "【办理流程】", "【办理地点】",
             "【费用与时限】", "【政策依据】"]
    positions = [text.index(h) for h in order]
    assert positions == sorted(positions)
    assert "核对日期 2026-" in text
    # the standard follow-ups, with the way on to booking before 其他问题 / 转人工
    assert reply.buttons == [*FOLLOW_UPS[:3], GUIDE_NEXT["marriage.register"], *FOLLOW_UPS[3:]]
    assert assistant.guide("assistance.dibao").buttons == list(FOLLOW_UPS)
    assert reply.service == "marriage.register" and reply.kind == "guide"


def test_numbered_steps_and_materials(assistant):
    text = assistant.guide("funeral.after_death").text
    steps = text.split("【办理流程】")[1].split("【")[0]
    assert "1. " in steps and "2. " in steps


def test_html_format_escapes_content(assistant, catalog):
    g = catalog.guide("assistance.temporary", "hebei-qinhuangdao")
    g = dataclasses.replace(g, summary="<script>alert(1)</script> & 说明")
    html = render.render("guide.j2", "html", g=g)
    text = render.render("guide.j2", "text", g=g)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    assert "<b>所需材料</b>" in html
    assert "<b>" not in text and "<script>alert(1)</script>" in text


def test_sample_data_is_flagged_with_confirmation_advice(assistant):
    text = assistant.guide("marriage.register", "liaoning-yingkou").text
    assert "示例数据" in text
    assert "确认" in text


def test_national_guide_says_it_is_national(assistant):
    text = assistant.guide("assistance.dibao").text
    assert "全国通用规定" in text
    assert "告诉我您所在的城市" in text


def test_section_only_shows_that_section(assistant):
    reply = assistant.section("marriage.divorce", "materials", "zhejiang-hangzhou")
    assert "【所需材料】" in reply.text and "【办理流程】" not in reply.text
    assert all(b.payload != "/ask_materials" for b in reply.buttons)


def test_messages_render_in_both_formats():
    for fmt in ("text", "html"):
        out = render.message("unavailable", fmt, hotline="12345")
        assert "12345" in out and "抱歉" in out
