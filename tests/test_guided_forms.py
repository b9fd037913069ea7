"""The guided forms (bot/guided/forms.py) driven turn by turn the way Rasa's form loop
drives them: each message goes to ``turn``; when no slot is requested any more the
form ends and ``submit`` answers. Real catalogue, rules, booking and status services."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any, Dict, List, Optional

import pytest

from bot.catalog.migrate import upgrade
from bot.catalog.loader import write_catalog
from bot.eligibility import GRADE_LABELS
from bot.guided import parse
from bot.guided.forms import Guided, Message, Outcome
from bot.status_lookup import load_samples

TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.fixture
def guided(tmp_path, content, assistant):
    url = f"sqlite:///{tmp_path / 'guided.db'}"
    upgrade(url)
    write_catalog(url, content)
    load_samples(url)
    return Guided(assistant, url, today=lambda: TODAY)


class Talk:
    """One conversation with one form: Rasa's loop in a few lines."""

    def __init__(self, guided: Guided, form: str, slots: Optional[Dict[str, Any]] = None):
        self.form = guided.form(form)
        self.state: Dict[str, Any] = {"requested_slot": None, "_conversation": "conv-test", **(slots or {})}
        self.replies: List[str] = []
        self.outcome: Optional[Outcome] = None
        self.active = True

    def say(self, text: str, intent: Optional[str] = None, confidence: float = 0.95) -> str:
        assert self.active, "the form has ended"
        turn = self.form.turn(Message(text, intent, confidence, "conv-test"), self.state)
        self.state.update(turn.updates)
        self.state["requested_slot"] = turn.requested
        if turn.requested is None:
            self.active = False
            self.outcome = self.form.submit(self.state)
            self.state.update(self.outcome.updates)
            reply = self.outcome.reply.text if self.outcome.reply else ""
        else:
            reply = turn.reply.text
        self.replies.append(reply)
        return reply

    @property
    def asked(self) -> Optional[str]:
        return self.state.get("requested_slot")


# ------------------------------------------------------------------ eligibility


def test_eligibility_uses_what_the_first_message_says_and_asks_only_the_rest(guided):
    t = Talk(guided, "eligibility_form")
    first = t.say("我爸87岁了，住在杭州，能领什么补贴", "check_eligibility")
    assert t.state["elig_age"] == 87 and t.state["region"] == "zhejiang-hangzhou"
    assert t.asked == "elig_hukou" and "户籍" in first
    assert "economic" not in first
    t.say("是杭州户口")
    assert t.state["elig_hukou"] is True and t.asked == "elig_economic"
    t.say("都不是")
    assert t.state["elig_economic"] == "none" and t.asked == "elig_care"
    result = t.say("基本上卧床了，没做过评估")
    assert not t.active
    assert "【符合】高龄津贴：每月60元" in result
    assert "老年人能力评估" in result
    assert t.outcome.reply.kind == "eligibility_result"
    assert t.state["elig_age"] is None, "form slots are cleared after the answer"
    assert t.state["age"] == 87, "the age stays for later questions in the conversation"


def test_eligibility_accepts_chinese_numerals_and_birth_years(guided):
    t = Talk(guided, "eligibility_form")
    t.say("帮我测算养老补贴", "check_eligibility")
    assert t.asked == "elig_age"
    t.say("八十五")
    assert t.state["elig_age"] == 85
    t2 = Talk(guided, "eligibility_form")
    t2.say("测算补贴", "check_eligibility")
    t2.say("1940年出生")
    assert t2.state["elig_age"] == 86


def test_eligibility_correction_overwrites_an_earlier_answer(guided):
    t = Talk(guided, "eligibility_form")
    t.say("测算养老补贴", "check_eligibility")
    t.say("78岁")
    assert t.asked == "region"
    t.say("不对，老人是88岁", "elder_age_allowance")
    assert t.state["elig_age"] == 88
    assert t.asked == "region", "a correction does not skip the open question"


def test_eligibility_asks_again_with_a_hint_then_skips_an_optional_question(guided):
    t = Talk(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("老人85岁，帮我算算能领什么", "check_eligibility")
    assert t.asked == "elig_hukou"
    again = t.say("啥意思")
    assert t.asked == "elig_hukou" and again.startswith("抱歉")
    t.say("啥意思")
    assert "elig_hukou" in t.state["form_skipped"]
    assert t.asked == "elig_economic"


def test_eligibility_age_is_required_and_skipping_it_says_so(guided):
    t = Talk(guided, "eligibility_form")
    t.say("测算养老补贴", "check_eligibility")
    reply = t.say("跳过", "skip")
    assert t.asked == "elig_age" and "必填" in reply


def test_stop_ends_the_form_and_forgets_the_answers(guided):
    t = Talk(guided, "eligibility_form")
    t.say("测算养老补贴", "check_eligibility")
    t.say("85岁")
    reply = t.say("算了，不测了", "stop")
    assert not t.active
    assert "已退出养老补贴测算" in reply
    assert t.outcome.reply.kind == "form_stopped"
    assert t.state["elig_age"] is None


def test_a_yes_no_answer_is_not_taken_for_stop_when_nlu_is_unsure(guided):
    t = Talk(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("老人85岁，帮我算算", "check_eligibility")
    t.say("不是", "stop", confidence=0.5)
    assert t.active and t.state["elig_hukou"] is False


def test_handoff_keeps_the_answers_for_staff(guided):
    t = Talk(guided, "eligibility_form")
    t.say("测算养老补贴", "check_eligibility")
    t.say("85岁")
    t.say("我要转人工", "human_handoff")
    assert not t.active
    assert t.outcome.followup == "action_human_handoff"
    assert t.state["elig_age"] == 85


def test_a_clear_question_about_something_else_leaves_the_form(guided):
    t = Talk(guided, "eligibility_form")
    t.say("测算养老补贴", "check_eligibility")
    t.say("结婚登记要带什么材料", "marriage_register", 0.93)
    assert not t.active and t.outcome.followup == "action_after_form_switch"


def test_an_answer_that_looks_like_another_service_is_still_an_answer(guided):
    t = Talk(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("老人85岁，帮我算算", "check_eligibility")
    t.say("是本地户口")
    assert t.asked == "elig_economic"
    t.say("他是低保户", "assistance_dibao", 0.97)
    assert t.active and t.state["elig_economic"] == "dibao"


def test_sample_city_result_says_to_confirm_locally(guided):
    t = Talk(guided, "eligibility_form")
    t.say("我妈90岁，在郴州，测算一下补贴", "check_eligibility")
    while t.active:
        t.say("不清楚", "skip")
    assert "示例数据" in t.replies[-1]


# ------------------------------------------------------------------ eligibility: the 残疾人证 grade


def finish(t: Talk, *answers: str) -> str:
    """Answer the elder questions the form asks (in Hangzhou: 户籍, economic, care), then
    the given answers in turn; the last reply."""
    elder = {"elig_age": "78岁", "region": "杭州", "elig_hukou": "是", "elig_economic": "低保", "elig_care": "能自理"}
    queue = list(answers)
    while t.active and t.asked in elder:
        t.say(elder[t.asked])
    while t.active and queue:
        t.say(queue.pop(0))
    return t.replies[-1]


class Trace(Talk):
    """Talk that remembers every slot it was asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked_ever: list = []

    def say(self, text, intent=None, confidence=0.95):
        reply = super().say(text, intent, confidence)
        if self.asked:
            self.asked_ever.append(self.asked)
        return reply


@pytest.mark.parametrize("first, slots", [
    ("帮我测算养老补贴", {}),
    ("我妈78岁了，住在杭州，身体不好，能领什么补贴", {}),
    ("帮我测算养老补贴", {"service": "elder.care_subsidy"}),  # opened from an elder guide
])
def test_an_elders_check_does_not_ask_about_a_disability_certificate(guided, first, slots):
    t = Trace(guided, "eligibility_form", slots)
    t.say(first, "check_eligibility")
    result = finish(t)
    assert not t.active and "elig_disability" not in t.asked_ever
    assert "残疾" not in result and t.outcome.reply.kind == "eligibility_result"


@pytest.mark.parametrize("first, slots", [
    ("我妈是残疾人，帮我算算能领哪些补贴", {}),
    ("幫我算算補貼，我爸有殘疾證", {}),                              # Traditional
    ("帮我测算养老补贴", {"service": "disability.two_subsidies"}),   # opened from the disability guide
])
def test_the_grade_is_asked_when_a_disability_was_spoken_of(guided, first, slots):
    t = Trace(guided, "eligibility_form", slots)
    t.say(first, "check_eligibility")
    question = finish(t)
    assert t.active and t.asked == "elig_disability" and t.asked_ever.count("elig_disability") == 1
    assert "残疾人证" in question and "困难残疾人生活补贴和重度残疾人护理补贴" in question
    payloads = [b.payload for b in guided.form("eligibility_form").question("elig_disability", t.state).buttons]
    assert payloads[:4] == ["一级", "二级", "三级", "四级"] and "不清楚" in payloads


def test_a_disability_mentioned_in_a_later_answer_also_counts(guided):
    t = Trace(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("帮我测算养老补贴", "check_eligibility")
    t.say("78岁，她是残疾人")
    finish(t)
    assert t.asked == "elig_disability"


def test_a_question_about_the_disability_subsidies_inside_the_form_counts(guided):
    t = Trace(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("帮我测算养老补贴", "check_eligibility")
    t.say("78岁")
    assert t.asked == "elig_economic"
    reply = t.say("重度残疾人护理补贴我妈能领吗？", "disability_two_subsidies")
    assert t.active and "国发〔2015〕52号" in reply and "我们继续" in reply, "answered inside the form"
    assert t.asked == "elig_economic"
    finish(t)
    assert t.asked == "elig_disability"


def test_a_grade_in_the_first_message_is_taken_without_asking(guided):
    t = Trace(guided, "eligibility_form")
    t.say("我爸是一级肢体残疾，能领什么补贴", "check_eligibility")
    assert t.state["elig_disability"] == 1 and t.asked == "elig_age"
    result = finish(t)
    assert not t.active and "elig_disability" not in t.asked_ever
    assert "【可能符合】重度残疾人护理补贴" in result and "【符合】困难残疾人生活补贴" in result
    assert "国发〔2015〕52号" in result[result.index("政策依据："):]
    assert t.state["elig_disability"] is None, "form slots are cleared after the answer"


def test_a_traditional_grade_in_the_first_message(guided):
    t = Trace(guided, "eligibility_form")
    t.say("我媽媽是二級殘疾，今年八十歲，住在杭州", "check_eligibility")
    assert t.state["elig_disability"] == 2 and t.state["elig_age"] == 80
    result = finish(t)
    assert "elig_disability" not in t.asked_ever
    assert "【可能符合】重度残疾人护理补贴" in result and "二级残疾" in result
    assert "殘" not in result, "the answer is in Simplified Chinese"


@pytest.mark.parametrize("answer, grade", [("一级", 1), ("1级", 1), ("二級", 2), ("三级残疾", 3), ("4级", 4),
                                           ("没有", 0), ("没有残疾人证", 0)])
def test_the_grade_answer_is_read(guided, answer, grade):
    t = Talk(guided, "eligibility_form", {"service": "disability.two_subsidies"})
    t.say("帮我测算养老补贴", "check_eligibility")
    finish(t)
    assert t.asked == "elig_disability"
    result = t.say(answer)
    assert not t.active and t.outcome.reply.kind == "eligibility_result"
    said = "老人没有残疾人证" if grade == 0 else f"{GRADE_LABELS[grade]}残疾"
    assert said in result
    assert "困难残疾人生活补贴" in result and "重度残疾人护理补贴" in result


@pytest.mark.parametrize("answer, granted, refused", [
    # finish() says the elder 能自理: the care subsidy, for those who need long-term care, "may qualify"
    ("二级", ["【符合】困难残疾人生活补贴", "【可能符合】重度残疾人护理补贴"], []),
    ("四级", ["【符合】困难残疾人生活补贴"], ["重度残疾人护理补贴"]),
    ("没有残疾人证", [], ["困难残疾人生活补贴", "重度残疾人护理补贴"]),
])
def test_the_result_names_the_subsidies_the_grade_gives(guided, answer, granted, refused):
    t = Talk(guided, "eligibility_form")
    t.say("我妈是残疾人，帮我测算补贴", "check_eligibility")
    result = finish(t, answer)
    assert not t.active
    for marked in granted:
        name = marked.split("】")[1]
        assert f"{marked}：" in result and f"· {name}：持第二代残疾人证" in result
    for name in refused:
        assert f"【不符合】{name}。" in result
    assert ("国发〔2015〕52号" in result) is bool(granted)


def test_severe_means_grade_one_or_two_and_the_form_asks_which(guided):
    t = Talk(guided, "eligibility_form", {"service": "disability.two_subsidies"})
    t.say("帮我测算养老补贴", "check_eligibility")
    finish(t)
    reply = t.say("重度")
    assert t.active and t.asked == "elig_disability" and t.state["elig_disability"] is None
    assert "重度残疾指残疾人证上的一级或二级" in reply and "一级还是二级" in reply
    result = t.say("二级")
    assert not t.active and "【可能符合】重度残疾人护理补贴" in result


def test_severe_in_the_first_message_is_asked_about_by_name(guided):
    t = Talk(guided, "eligibility_form")
    t.say("我媽是重度殘疾人，幫我算算能領什麼", "check_eligibility")
    question = finish(t)
    assert t.asked == "elig_disability"
    assert question.startswith("您说老人是重度残疾。按残疾人补贴政策，重度残疾指残疾人证上的一级或二级")
    buttons = [b.payload for b in guided.form("eligibility_form").question("elig_disability", t.state).buttons]
    assert buttons[:2] == ["一级", "二级"] and "三级" not in buttons


def test_severe_care_is_not_a_disability_grade(guided):
    t = Trace(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("老人85岁，评估过，重度失能", "check_eligibility")
    assert t.state["elig_care"] == "severe" and t.state.get("elig_disability") is None
    finish(t)
    assert not t.active and "elig_disability" not in t.asked_ever


@pytest.mark.parametrize("answer", ["不知道", "不知道有没有残疾证", "不清楚他有没有办残疾证"])
def test_not_knowing_the_grade_skips_it_and_says_what_the_subsidies_need(guided, answer):
    t = Talk(guided, "eligibility_form", {"service": "disability.two_subsidies"})
    t.say("帮我测算养老补贴", "check_eligibility")
    finish(t)
    result = t.say(answer)
    assert "老人没有残疾人证" not in result
    assert not t.active and t.outcome.reply.kind == "eligibility_result"
    assert "【符合】重度残疾人护理补贴" not in result and "【不符合】重度残疾人护理补贴" not in result
    caveat = result[result.index("请注意："):]
    assert "残疾人证的等级不清楚" in caveat
    assert "困难残疾人生活补贴要求残疾等级为一级、二级、三级、四级，并且是低保家庭" in caveat
    assert "重度残疾人护理补贴要求残疾等级为一级、二级" in caveat


def test_has_a_certificate_but_no_grade_is_asked_again(guided):
    t = Talk(guided, "eligibility_form", {"service": "disability.two_subsidies"})
    t.say("帮我测算养老补贴", "check_eligibility")
    finish(t)
    reply = t.say("有")
    assert t.active and t.asked == "elig_disability" and reply.startswith("请告诉我残疾人证上写的残疾等级")


def test_the_grades_and_whether_to_ask_come_from_the_rules(guided, monkeypatch):
    rules = copy.deepcopy(guided.eligibility_rules())
    rules.layers["national"]["disability.care_subsidy"]["disability_levels"] = [1, 2, 3]
    monkeypatch.setattr(guided, "eligibility_rules", lambda: rules)
    t = Talk(guided, "eligibility_form")
    t.say("我妈是三级残疾，帮我测算补贴", "check_eligibility")
    assert "【可能符合】重度残疾人护理补贴" in finish(t)
    for code in ("disability.living_subsidy", "disability.care_subsidy"):
        del rules.layers["national"][code]["disability_levels"]
    t = Trace(guided, "eligibility_form", {"service": "disability.two_subsidies"})
    t.say("我妈是残疾人，帮我测算补贴", "check_eligibility")
    finish(t)
    assert not t.active and "elig_disability" not in t.asked_ever, "no benefit depends on the grade: not asked"


# ------------------------------------------------------------------ funeral


def test_funeral_checklist_then_progress(guided):
    from bot.guided.forms import funeral_progress

    t = Talk(guided, "funeral_form")
    first = t.say("帮我列个身后事清单", "make_checklist")
    assert t.asked == "fun_place" and "节哀" in first
    t.say("在家里走的，是病故的")
    assert t.state["fun_place"] == "home" and t.state["fun_natural"] is True
    assert t.asked == "region"
    t.say("杭州")
    assert t.asked == "fun_hukou"
    t.say("是浙江户口")
    assert t.asked == "fun_pension"
    t.say("退休职工")
    assert t.asked == "fun_low_income"
    checklist = t.say("不是")
    assert not t.active
    assert "第1步：开具死亡证明" in checklist
    assert "社区卫生服务中心" in checklist
    assert "六项基本殡葬服务" in checklist
    state = dict(t.state)
    assert state["fun_place"] == "home" and state["fun_done"] == [] and state["fun_low_income"] is False

    out = funeral_progress(guided, "第一步办好了", state)
    assert out.updates["fun_done"] == [1]
    assert "第1步已记下办好了" in out.reply.text and "第2步" in out.reply.text
    state.update(out.updates)
    out = funeral_progress(guided, "下一步", state)
    assert out.updates["fun_done"] == [1] and "第2步" in out.reply.text
    out = funeral_progress(guided, "第9步办好了", state)
    assert "只有第1到第" in out.reply.text


def test_unnatural_death_starts_with_the_police(guided):
    t = Talk(guided, "funeral_form", {"region": "zhejiang-hangzhou"})
    t.say("家里老人出车祸走了，帮我一步步列出要办的事", "make_checklist")
    assert t.state["fun_natural"] is False
    while t.active:
        t.say("不清楚", "skip")
    assert "第1步：先报警" in t.replies[-1]


def test_progress_without_a_checklist_offers_one(guided):
    from bot.guided.forms import funeral_progress

    out = funeral_progress(guided, "第2步办好了", {})
    assert out.reply.kind == "progress_no_checklist"
    assert any(b.payload == "/make_checklist" for b in out.reply.buttons)


# ------------------------------------------------------------------ status lookup


def test_status_lookup_found_masks_personal_data(guided):
    t = Talk(guided, "status_form")
    t.say("查一下办件进度", "check_status")
    assert t.asked == "status_number"
    t.say("受理编号是CZ2026100023")
    assert t.asked == "status_last4"
    answer = t.say("1111")
    assert t.outcome.reply.kind == "status_found"
    assert "李*" in answer and "139****1111" in answer and "李小红" not in answer
    assert t.state["status_last4"] is None


def test_status_lookup_wrong_pair_and_unknown_number_read_the_same(guided):
    answers = []
    for number, last4 in (("CZ2026100023", "9999"), ("CZ2099999999", "1111")):
        t = Talk(guided, "status_form")
        t.say(f"帮我查进度，编号{number}，手机尾号{last4}", "check_status")
        assert not t.active, "everything was in the first message"
        answers.append(t.replies[-1])
    assert answers[0] == answers[1]


# ------------------------------------------------------------------ booking


def book(guided, kind_text="帮我预约结婚登记", births=("1998年3月2日", "2000年5月1日")) -> Talk:
    t = Talk(guided, "booking_form")
    t.say(kind_text, "book_appointment")
    assert t.asked == "region"
    t.say("西湖区")  # the district selects the office that serves it
    assert t.state["book_office"] == "zhejiang-hangzhou-xihu-marriage"
    assert "杭州市西湖区婚姻登记处" in t.replies[-1]
    if t.state["book_kind"] == "marriage":
        t.say(births[0])
        t.say(births[1])
    return t


def test_booking_happy_path_books_a_real_slot(guided):
    t = book(guided)
    assert t.asked == "book_day"
    days = t.replies[-1]
    assert "11月26日" in days, days  # tomorrow, a Thursday
    t.say("11月26日")
    assert t.state["book_day"] == "2026-11-26" and t.asked == "book_time"
    t.say("09:00")
    t.say("张三")
    t.say("13800131234")
    summary = t.replies[-1]
    assert t.asked == "book_confirm" and "张三" in summary
    done = t.say("确认")
    assert t.outcome.reply.kind == "booking_done"
    assert "确认码" in done and "居民身份证" in done and "张*" in done
    assert "示例数据" in done
    code = done.split("确认码：")[1][:8]
    view = guided.booking().find(code, "1234")
    assert view is not None and view.day == date(2026, 11, 26) and view.start == "09:00"
    assert t.state["book_phone"] is None, "personal data is not kept in the conversation"


def test_booking_precheck_stops_an_underage_couple(guided):
    t = book(guided, births=("2006年1月1日", "2000年5月1日"))
    assert not t.active
    assert t.outcome.reply.kind == "precheck_failed"
    assert "2028年1月1日" in t.replies[-1]


def test_divorce_booking_gives_the_cooling_off_dates(guided):
    t = book(guided, kind_text="我想预约离婚登记")
    assert t.state["book_kind"] == "divorce" and t.asked == "book_day"
    t.say("下周一")
    assert t.state["book_day"] == "2026-11-30"
    t.say("上午")
    t.say("李四")
    t.say("13900001111")
    done = t.say("确认")
    assert "冷静期" in done and "2026年12月30日" in done and "第1077条" in done


def test_booking_confirmation_can_change_the_time(guided):
    t = book(guided)
    t.say("明天")
    t.say("下午两点")
    assert t.state["book_time"] == "13:30"
    t.say("王五")
    t.say("我的手机是138-0013-9999")
    assert t.state["book_phone"] == "13800139999"
    t.say("改时间")
    assert t.asked == "book_day" and t.state["book_time"] is None


def test_manage_booking_cancel_and_reschedule(guided):
    t = book(guided)
    t.say("11月27日")
    t.say("10:00")
    t.say("赵六")
    t.say("13700006666")
    code = t.say("确认").split("确认码：")[1][:8]

    m = Talk(guided, "manage_booking_form")
    m.say("我要改一下预约时间", "manage_booking")
    assert m.state["mb_op"] == "reschedule" and m.asked == "mb_code"
    m.say(f"确认码{code}")
    m.say("6666")
    assert m.asked == "mb_day"
    m.say("12月1日")
    m.say("15:00")
    assert m.asked == "mb_confirm"
    m.say("确认")
    assert m.outcome.reply.kind == "booking_rescheduled"
    assert guided.booking().find(code, "6666").day == date(2026, 12, 1)

    c = Talk(guided, "manage_booking_form")
    c.say(f"取消预约 {code} 尾号6666", "manage_booking")
    assert c.asked == "mb_confirm"
    c.say("确认取消")
    assert c.outcome.reply.kind == "booking_cancelled"
    assert guided.booking().find(code, "6666").status == "cancelled"


def test_manage_booking_wrong_last4_finds_nothing(guided):
    m = Talk(guided, "manage_booking_form")
    m.say("查一下预约 K7QH2M9T", "manage_booking")
    m.say("0000")
    assert m.outcome.reply.kind == "booking_not_found"


# ------------------------------------------------------------------ parsers


@pytest.mark.parametrize("text,expected", [
    ("11月30日", date(2026, 11, 30)), ("2026-12-02", date(2026, 12, 2)), ("明天", date(2026, 11, 26)),
    ("下周三", date(2026, 12, 2)), ("周五", date(2026, 11, 27)), ("1月5号", date(2027, 1, 5)),
    ("十二月一日", date(2026, 12, 1)), ("随便", None),
])
def test_parse_day(text, expected):
    assert parse.parse_day(text, TODAY) == expected


@pytest.mark.parametrize("text,expected", [
    ("09:00", "09:00"), ("9点", "09:00"), ("下午两点", "13:30"), ("10点半", "10:00"), ("上午", "09:00"),
    ("15:00-17:00（余6）", "15:00"), ("晚上八点", None), ("12点", None), ("下午5点", None), ("11点半", None),
])
def test_parse_time(text, expected):
    spans = [("09:00", "10:00"), ("10:00", "11:30"), ("13:30", "15:00"), ("15:00", "17:00")]
    assert parse.parse_time(text, spans) == expected


def test_parse_codes_numbers_and_phones():
    assert parse.parse_booking_code("确认码k7qh2m9t") == "K7QH2M9T"
    assert parse.parse_booking_code("取消预约 FFYUAHYZ 尾号1234") == "FFYUAHYZ"
    assert parse.parse_booking_code("预约码是12345678") is None  # 1 is never in a code
    assert parse.parse_booking_code("HZ2026110001") is None
    assert parse.parse_application_number("编号 hz2026110001 ") == "HZ2026110001"
    assert parse.parse_application_number("13800131234") is None
    assert parse.parse_last4("尾号是1234") == "1234"
    assert parse.parse_last4("1234") is None
    assert parse.parse_last4("1234", bare=True) == "1234"
    assert parse.parse_phone("+86 138 0013 1234") == "13800131234"
    assert parse.parse_name("我叫李小红") == "李小红"
    assert parse.parse_name("不知道") is None
    assert parse.parse_birth_date("98年3月2日", TODAY) == date(1998, 3, 2)
    assert parse.parse_birth_date("2030年1月1日", TODAY) is None


def test_staff_see_form_answers_but_no_personal_data(guided):
    from bot.guided.forms import describe_answers
    from bot.handoff import FORM_ANSWERS

    t = Talk(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("老人85岁，帮我算算", "check_eligibility")
    t.say("是本地户口")
    t.say("他是低保户")
    understood = {k: t.state.get(k) for k in FORM_ANSWERS if t.state.get(k) is not None}
    understood["form"] = "eligibility_form"
    lines = describe_answers(understood)
    assert lines == ["转人工时在办：养老补贴测算", "老人年龄：85岁", "老人本地户籍：是", "经济状况：低保"]
    for personal in ("book_name", "book_phone", "book_groom_birth", "book_bride_birth", "status_last4", "mb_last4",
                     "mb_code", "status_number"):
        assert personal not in FORM_ANSWERS


def test_staff_see_the_disability_grade_the_form_was_told(guided):
    from bot.guided.forms import describe_answers
    from bot.handoff import FORM_ANSWERS

    assert "elig_disability" in FORM_ANSWERS
    assert "残疾人证：二级" in describe_answers({"elig_disability": 2.0})  # Rasa keeps it as a float slot
    assert "残疾人证：没有" in describe_answers({"elig_disability": 0})
    assert not any(line.startswith("残疾人证") for line in describe_answers({"elig_disability": 9}))


# ------------------------------------------------------------------ review findings (each was a real defect)


def test_a_stale_requested_slot_from_an_old_session_does_not_leak_into_a_new_form(guided):
    form = guided.form("booking_form")
    turn = form.turn(Message("帮我预约结婚登记", "book_appointment", 0.95),
                     {"requested_slot": "elig_hukou", "book_name": "旧名字", "_starting": True})
    assert turn.requested == "region" and turn.updates["book_name"] is None


def test_a_slot_taken_meanwhile_reopens_the_booking_with_the_answers_kept(guided):
    form = guided.form("booking_form")
    state = {"book_kind": "marriage", "region": "zhejiang-hangzhou-xihu",
             "book_office": "zhejiang-hangzhou-xihu-marriage",
             "book_groom_birth": "1998-03-02", "book_bride_birth": "2000-05-01", "book_name": "张三",
             "book_phone": "13800131234", "form_resume": "booking_form", "_starting": True}
    turn = form.turn(Message("确认", None, 0.0), state)
    assert turn.requested == "book_day" and "book_name" not in turn.updates
    assert turn.updates["form_resume"] is None


def test_day_that_cannot_be_booked_gets_the_reason(guided):
    t = book(guided)
    reply = t.say("今天")
    assert t.asked == "book_day" and "明天及以后" in reply
    reply = t.say("周六")
    assert t.asked == "book_day" and "不办公" in reply


def test_all_letter_codes_cancel_with_quxiao_and_reschedule_pick_again(guided, monkeypatch):
    import bot.booking

    monkeypatch.setattr(bot.booking, "_new_code", lambda: "FFYUAHYZ")  # about 9% of real codes have no digit
    t = book(guided)
    t.say("11月30日")
    t.say("09:00")
    t.say("Anna Schmidt")
    assert t.state["book_name"] == "Anna Schmidt"
    t.say("13800137777")
    code = t.say("确认").split("确认码：")[1][:8]
    assert code == "FFYUAHYZ"
    m = Talk(guided, "manage_booking_form")
    m.say("我想改约到12月3日", "manage_booking")
    assert m.state["mb_op"] == "reschedule"
    m.say(code)
    m.say("7777")
    assert m.state["mb_day"] == "2026-12-03" and m.asked == "mb_time"
    m.say("10:00")
    m.say("重新选")
    assert m.asked == "mb_day" and m.active
    c = Talk(guided, "manage_booking_form")
    c.say(f"取消预约 {code} 尾号7777", "manage_booking")
    c.say("取消")
    assert c.outcome.reply.kind == "booking_cancelled"


def test_hukou_answers_that_name_another_place(guided):
    t = Talk(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("老人85岁，帮我算算", "check_eligibility")
    t.say("户口在老家河南")
    assert t.state["elig_hukou"] is False and t.state["region"] == "zhejiang-hangzhou"
    t2 = Talk(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t2.say("老人85岁，帮我算算", "check_eligibility")
    t2.say("不是，是河南的")
    assert t2.state["elig_hukou"] is False and t2.state["region"] == "zhejiang-hangzhou"
    t3 = Talk(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t3.say("老人85岁，帮我算算", "check_eligibility")
    t3.say("在哪里做老年人能力评估")
    assert t3.state.get("elig_hukou") is None


def test_not_an_accident_is_a_natural_death(guided):
    t = Talk(guided, "funeral_form", {"region": "zhejiang-hangzhou"})
    t.say("帮我列身后事清单", "make_checklist")
    t.say("在医院，不是意外")
    assert t.state["fun_natural"] is True


def test_a_question_about_another_service_is_not_an_answer(guided):
    t = Talk(guided, "eligibility_form", {"region": "zhejiang-hangzhou"})
    t.say("老人85岁，帮我算算", "check_eligibility")
    t.say("低保怎么申请", "assistance_dibao", 0.92)
    assert not t.active and t.outcome.followup == "action_after_form_switch"


def test_number_and_last_four_separated_by_a_space(guided):
    t = Talk(guided, "status_form")
    t.say("查进度 HZ2026110001 1234", "check_status")
    assert not t.active and t.outcome.reply.kind == "status_found"


def test_handoff_drops_personal_answers_but_keeps_the_others(guided):
    t = book(guided)
    t.say("11月30日")
    t.say("转人工", "human_handoff")
    assert t.state["book_groom_birth"] is None and t.state["book_day"] == "2026-11-30"
    assert t.state["form_last"] == "booking_form"


def test_a_low_income_family_gets_the_temporary_assistance_step(guided):
    t = Talk(guided, "funeral_form", {"region": "hunan-chenzhou"})
    t.say("在医院走的，病故，帮我列个后事清单", "make_checklist")
    while t.asked != "fun_low_income":
        t.say("不清楚", "skip")
    done = t.say("我们家是低保户", "assistance_dibao", 0.9)
    assert t.state["fun_low_income"] is True and not t.active
    assert "临时救助" in done


def test_reschedule_to_a_closed_day_named_up_front_asks_for_another_day(guided):
    t = book(guided)
    t.say("11月30日")
    t.say("09:00")
    t.say("钱七")
    t.say("13700008888")
    code = t.say("确认").split("确认码：")[1][:8]
    m = Talk(guided, "manage_booking_form")
    m.say("我想改约到12月5日", "manage_booking")  # a Saturday
    m.say(code)
    m.say("8888")
    assert m.asked == "mb_day"


def test_guided_route_for_messages_nlu_could_not_place():
    assert parse.guided_route("我想改约到12月3日") == "manage_booking_form"
    assert parse.guided_route("FHURWZX3") == "manage_booking_form"
    assert parse.guided_route("HZ2026110001") == "status_form"
    assert parse.guided_route("结婚登记要带什么") is None
    assert parse.guided_route("我们想在郴州预约结婚登记") == "booking_form"
    assert parse.guided_route("離婚登記可以預約嗎") == "booking_form"  # Traditional too
    assert parse.guided_route("想约个离婚登记的时间") == "booking_form"


def test_small_readings_from_the_review():
    assert parse.parse_confirm("这是哪个登记处？") is None  # a question is not a yes
    assert parse.parse_confirm("不用改了，确认") is True
    assert parse.parse_name("结婚登记要带什么") is None and parse.parse_name("是我") is None
    assert parse.choose("2", ["杭州市西湖区婚姻登记处", "杭州市各区婚姻登记处"]) == 1
    assert parse.choose("登记处", ["杭州市西湖区婚姻登记处", "杭州市各区婚姻登记处"]) is None


def test_after_a_backend_failure_the_submit_says_nothing_more(guided):
    form = guided.form("booking_form")
    out = form.submit({"form_exit": "unavailable", "book_name": "张三", "book_phone": "13800131234"})
    assert out.reply is None and out.followup is None
    assert out.updates["book_name"] is None and out.updates["book_phone"] is None
