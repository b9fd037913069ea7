"""Guided services end to end: the trained model, the Rasa server with its forms and
the action server, driven through `python -m bot ask --conversation`."""
from __future__ import annotations

from datetime import date

import pytest

from bot.booking import BookingService

from .test_e2e_ask import ask, url_args  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def test_eligibility_check_conversation(url_args):  # noqa: F811
    out = ask(["我爸87岁了，住在杭州，帮我算算能领哪些补贴", "是杭州户口", "都不是", "基本上卧床了，没做过评估"],
              *url_args, "--conversation")
    start, hukou, economic, result = out
    assert start["intent"] == "check_eligibility"
    assert "户籍" in start["reply"]
    assert "低保" in hukou["reply"]
    assert "自理" in economic["reply"]
    assert "【符合】高龄津贴：每月60元" in result["reply"]
    assert "老年人能力评估" in result["reply"]


def test_correction_and_stop_halfway(url_args):  # noqa: F811
    out = ask(["帮我测算一下老人能领什么养老补贴", "78岁", "不对，老人是88岁", "算了，不测了", "低保怎么申请"],
              *url_args, "--conversation")
    start, age, corrected, stopped, after = out
    assert "多大年纪" in start["reply"]
    assert "哪个城市" in age["reply"] and "哪个城市" in corrected["reply"]
    assert "已退出养老补贴测算" in stopped["reply"]
    # the conversation goes on normally after the form
    assert after["intent"] == "assistance_dibao"
    assert after["service"] == "assistance.dibao" or "哪个城市" in after["reply"]


def test_funeral_checklist_and_progress(url_args):  # noqa: F811
    out = ask(["请按我家的情况帮我列一个身后事办事清单", "在家里走的，是病故的", "杭州", "是", "退休职工", "不是",
               "第一步办好了"], *url_args, "--conversation")
    checklist, progress = out[-2], out[-1]
    assert "第1步：开具死亡证明" in checklist["reply"] and "节哀" in checklist["reply"]
    assert "第1步已记下办好了" in progress["reply"] and "第2步" in progress["reply"]


def test_booking_a_marriage_registration(url_args, catalog_url):  # noqa: F811
    office = "zhejiang-hangzhou-xihu-marriage"
    free = BookingService(catalog_url).availability(office, "marriage", days=1)
    assert free, "the sample schedule always has a free day within 30 days"
    day: date = free[0].day
    start = next(s.start for s in free[0].slots if s.free > 0)
    out = ask(["帮我预约结婚登记", "西湖区", "杭州市西湖区婚姻登记处", "1998年3月2日", "2000年5月1日",
               f"{day.month}月{day.day}日", start, "张三", "13800131234", "确认"], *url_args, "--conversation")
    assert "登记处" in out[2]["reply"] or "出生日期" in out[2]["reply"]
    assert "核对" in out[-2]["reply"]
    done = out[-1]["reply"]
    assert "预约成功" in done and "确认码" in done and "张*" in done
    code = done.split("确认码：")[1][:8]
    view = BookingService(catalog_url).find(code, "1234")
    assert view is not None and view.day == day and view.start == start


def test_status_lookup(url_args):  # noqa: F811
    out = ask(["帮我查一下办件进度", "HZ2026110001", "1234"], *url_args, "--conversation")
    assert "受理编号" in out[0]["reply"]
    assert "后四位" in out[1]["reply"]
    assert "张*" in out[2]["reply"] and "138****1234" in out[2]["reply"]


def test_leaving_a_form_for_another_question_or_a_person(url_args):  # noqa: F811
    out = ask(["帮我预约结婚登记", "结婚登记要带什么材料", "帮我测算一下养老补贴", "转人工"],
              *url_args, "--conversation")
    start, switched, elig, handoff = out
    assert "结婚登记还是离婚登记" in start["reply"] or "哪个城市" in start["reply"]
    # the question is answered once: no clarifying question after the guide
    assert switched["service"] == "marriage.register" or "哪个城市" in switched["reply"]
    assert "抱歉，我不太确定" not in switched["reply"]
    assert "多大年纪" in elig["reply"]
    assert "12345" in handoff["reply"] and "抱歉，我不太确定" not in handoff["reply"]


def test_changing_and_cancelling_a_booking_in_words(url_args, catalog_url):  # noqa: F811
    office = "zhejiang-hangzhou-xihu-marriage"
    svc = BookingService(catalog_url)
    days = svc.availability(office, "marriage", days=2)
    first, second = days[0], days[1]
    # other tests of the session book on the same catalogue: take a slot that is still free
    start1 = next(s.start for s in first.slots if s.free > 0)
    booked = svc.book(office, "marriage", first.day, start1, "王五", "13600005555")
    assert booked.ok
    code = booked.booking.code
    start2 = next(s.start for s in second.slots if s.free > 0)
    out = ask([f"我想改约到{second.day.month}月{second.day.day}日", code, "5555", start2, "确认"],
              *url_args, "--conversation")
    assert "确认码" in out[0]["reply"]
    assert "改约成功" in out[-1]["reply"]
    moved = svc.find(code, "5555")
    assert moved.day == second.day and moved.start == start2
    out = ask([f"取消预约 {code} 尾号5555", "确认取消"], *url_args, "--conversation")
    assert "预约已取消" in out[-1]["reply"]
    assert svc.find(code, "5555").status == "cancelled"
