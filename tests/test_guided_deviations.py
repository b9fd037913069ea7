"""The deviations real people make, form by form, without Rasa (issue 20): statements
that answer nothing, don't-know, questions inside a form, misses that must not loop,
leaving for another question and coming back, places that select an office."""
from __future__ import annotations

import pytest

from bot.guided.engine import RESUME, RETRY, is_dont_know

from .test_guided_forms import Talk, guided  # noqa: F401  (fixture)


def test_the_issue_conversation_ends_with_the_result(guided):  # noqa: F811
    t = Talk(guided, "eligibility_form")
    t.say("帮我算算我妈能领哪些养老补贴", "check_eligibility")
    for text, intent, conf in [("87岁", "inform_region", 0.97), ("杭州", "inform_region", 0.99),
                               ("嗯嗯", "nlu_fallback", 0.45), ("户口在杭州", "inform_region", 0.99),
                               ("不太清楚", "thanks", 0.46), ("她一个人住", "other_question", 0.78)]:
        t.say(text, intent, conf)
        assert t.active, f"{text!r} ended the form: {t.replies[-1]}"
    assert "独自居住" in t.replies[-1] and t.asked == "elig_care"
    result = t.say("身体还行能自理", "elder_care_subsidy", 0.749)
    assert t.outcome.reply.kind == "eligibility_result"
    assert "每月60元" in result and "以上按不是低保、特困或低收入家庭测算" in result


@pytest.mark.parametrize("text", ["不知道", "不太清楚", "我也不清楚", "不確定", "记不清了", "说不好"])
def test_dont_know_is_recognised(text):
    assert is_dont_know(text)


@pytest.mark.parametrize("text", ["不知道怎么申请", "87岁", "算了", "是"])
def test_other_answers_are_not_dont_know(text):
    assert not is_dont_know(text)


def test_a_required_question_never_loops(guided):  # noqa: F811
    t = Talk(guided, "eligibility_form")
    first = t.say("测算养老补贴", "check_eligibility")
    second = t.say("嗯", "nlu_fallback", 0.3)
    third = t.say("啊", "nlu_fallback", 0.3)
    assert t.active and len({first, second, third}) == 3
    assert "算了" in third and "转人工" in third and "可以这样回答" in third
    kinds = [b.title for b in t.form.question("elig_age", t.state).buttons]
    assert kinds == []  # the age question has no buttons; the help adds 算了 and 转人工
    t.say("哦", "nlu_fallback", 0.3)
    assert not t.active and t.outcome.followup == "action_human_handoff"


def test_a_statement_with_a_confident_other_intent_does_not_end_the_form(guided):  # noqa: F811
    t = Talk(guided, "booking_form")
    t.say("预约结婚登记", "book_appointment")
    t.say("上城区")
    reply = t.say("我们是二婚", "marriage_register", 0.95)
    assert t.active and "再婚" in reply and t.asked == "book_groom_birth"


def test_a_question_about_the_forms_own_service_is_answered_inside(guided):  # noqa: F811
    t = Talk(guided, "booking_form")
    t.say("预约离婚登记", "book_appointment")
    t.say("上城区")
    reply = t.say("冷静期是多少天？", "marriage_divorce", 0.9)
    assert t.active and "30天" in reply and "我们继续" in reply and t.asked == "book_day"


def test_a_question_about_something_else_keeps_the_answers_and_offers_to_come_back(guided):  # noqa: F811
    t = Talk(guided, "eligibility_form")
    t.say("测算养老补贴", "check_eligibility")
    t.say("87岁")
    t.say("杭州")
    reply = t.say("低保怎么申请？", "assistance_dibao", 0.95)
    assert not t.active and t.outcome.followup == "action_after_form_switch"
    assert "继续养老补贴测算" in reply and t.outcome.reply.kind == "form_paused"
    assert t.state[RESUME] == "eligibility_form" and t.state["elig_age"] == 87
    again = Talk(guided, "eligibility_form", slots=t.state)
    back = again.say("继续测算", "check_eligibility")
    assert "接着刚才的" in back and again.asked == "elig_hukou"


def test_every_turn_sets_a_slot_so_rasa_does_not_reject_it(guided):  # noqa: F811
    form = guided.form("status_form")
    state = {"requested_slot": None, "_conversation": "c"}
    from bot.guided.engine import Message
    first = form.turn(Message("查办件进度", "check_status", 0.99), state)
    state.update(first.updates)
    state["requested_slot"] = first.requested
    emoji = form.turn(Message("🤔", "nlu_fallback", 0.2), state)
    assert RETRY in emoji.updates and emoji.requested == "status_number"
    assert "没有收到文字内容" in emoji.reply.text


@pytest.mark.parametrize("place, office", [
    ("我在上城区", "zhejiang-hangzhou-marriage"),
    ("西湖区", "zhejiang-hangzhou-xihu-marriage"),
    ("我住文新街道", "zhejiang-hangzhou-xihu-marriage"),
    ("江干区", "zhejiang-hangzhou-marriage"),
    ("千岛湖", "zhejiang-hangzhou-marriage"),
    ("北湖区", "hunan-chenzhou-marriage"),
    ("鲅鱼圈", "liaoning-yingkou-marriage"),
    ("北戴河", "hebei-qinhuangdao-marriage"),
])
def test_a_district_street_or_place_selects_the_office_that_serves_it(guided, place, office):  # noqa: F811
    t = Talk(guided, "booking_form")
    t.say("预约结婚登记", "book_appointment")
    t.say(place)
    assert t.state["book_office"] == office and t.asked == "book_groom_birth"


@pytest.mark.parametrize("answer, office", [
    ("2", "zhejiang-hangzhou-xihu-marriage"),
    ("西湖区那个", "zhejiang-hangzhou-xihu-marriage"),
    ("我在上城区", "zhejiang-hangzhou-marriage"),
    ("不知道选哪个", "zhejiang-hangzhou-marriage"),
])
def test_the_office_question_takes_a_number_a_name_a_district_or_dont_know(guided, answer, office):  # noqa: F811
    t = Talk(guided, "booking_form")
    t.say("预约结婚登记", "book_appointment")
    t.say("杭州")
    assert t.asked == "book_office"
    t.say(answer)
    assert t.state["book_office"] == office


def test_naming_the_city_again_keeps_the_office(guided):  # noqa: F811
    t = Talk(guided, "booking_form")
    t.say("预约结婚登记", "book_appointment")
    t.say("千岛湖")
    t.say("杭州")
    assert t.state["book_office"] == "zhejiang-hangzhou-marriage" and t.asked == "book_groom_birth"


def test_a_correction_is_not_a_no(guided):  # noqa: F811
    t = Talk(guided, "eligibility_form")
    t.say("测算养老补贴", "check_eligibility")
    t.say("87岁")
    t.say("杭州")
    t.say("不对，老人是92岁")
    assert t.state["elig_age"] == 92 and t.state.get("elig_hukou") is None and t.asked == "elig_hukou"


def test_dont_know_the_code_is_not_a_stop(guided):  # noqa: F811
    t = Talk(guided, "manage_booking_form")
    t.say("查询预约", "manage_booking")
    reply = t.say("不记得了", "stop", 0.95)
    assert t.active and "预约成功的那条消息" in reply


def test_changing_the_kind_while_the_time_is_asked_starts_over_at_the_office(guided):  # noqa: F811
    t = Talk(guided, "booking_form")
    t.say("预约离婚登记", "book_appointment")
    t.say("西湖区")
    t.say("11月26日")
    assert t.asked == "book_time"
    t.say("还是改成结婚登记吧")
    assert t.active and t.state["book_kind"] == "marriage" and t.state["book_day"] is None
