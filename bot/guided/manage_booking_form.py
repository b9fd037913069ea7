"""预约查询: viewing, changing or cancelling a booking."""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Dict, Optional


from ..assistant import Button
from ..booking_guard import Access
from ..normalize import compact, first_keyword
from ..workdays import format_day
from . import parse
from .engine import (
    REGION, GuidedForm, Outcome, client_of, text_reply,
)
from .booking_form import KINDS, day_choice, day_problem, free_slots, slot_choice



class ManageBookingForm(GuidedForm):
    name = "manage_booking_form"
    intent = "manage_booking"
    title = "预约查询"
    resume_words = "继续查询预约"
    related = ("marriage_register", "marriage_divorce")
    slots = ("mb_code", "mb_last4", "mb_op", "mb_day", "mb_time", "mb_confirm")

    _EXAMPLES = {"mb_code": "“K7QH2M9T”（在预约成功的消息里）", "mb_last4": "“5678”",
                 "mb_op": "“取消预约”“改到下周三”“就看看”", "mb_day": "“下周三”“11月30日”",
                 "mb_time": "“上午”“下午两点”", "mb_confirm": "“确认”或“不”"}

    def examples(self, slot, state):
        return self._EXAMPLES.get(slot, "")

    def dont_know(self, slot, state):
        if slot == "mb_code":
            return ("确认码在预约成功的那条消息里（8位字母和数字）。找不到的话，可以带身份证直接到登记处，"
                    "或说“转人工”。", {})
        if slot == "mb_last4":
            return "就是预约时留的手机号码的最后4位数字。", {}
        return super().dont_know(slot, state)

    personal = ("mb_code", "mb_last4")
    _OPS = (("cancel", ("取消", "不去了", "退掉", "撤销")),
            ("reschedule", ("改约", "改到", "改时间", "换时间", "换个时间", "换一天", "改期", "调整", "改一下",
                            "重新约", "改", "换")),
            ("view", ("查看", "查询", "看看", "查一下", "查", "看")))

    def checked(self, state) -> Access:
        if not (state.get("mb_code") and state.get("mb_last4")):
            return Access("not_found")
        return self.ctx.booking().access(state["mb_code"], state["mb_last4"], client_of(state))

    def found(self, state):
        return self.checked(state).value

    def refused(self, checked, state) -> Optional[Outcome]:
        """Attempt limits (bot.booking_guard): never says which part was wrong."""
        hotline = self.ctx.assistant.catalog.hotline_for(state.get(REGION))
        if checked.outcome == "locked":
            return Outcome(text_reply(
                "为保护预约人的信息，这个预约的自助查询、改约和取消已暂时锁定（验证未通过的次数过多）。"
                f"如需查询或办理，请带上身份证件到婚姻登记处，或拨打 {hotline}，工作人员可以帮您。",
                [Button("转人工", "/human_handoff")], kind="booking_locked"))
        if checked.outcome == "throttled":
            wait = f"{checked.retry_after_minutes}分钟"
            return Outcome(text_reply(f"验证未通过的次数较多，为保护预约信息，请{wait}后再试；"
                                      f"也可以拨打 {hotline} 咨询。", kind="booking_throttled"))
        return None

    def extract(self, text, state, requested):
        out: Dict[str, Any] = {}
        t = compact(text)
        if not t:
            return out
        code = parse.parse_booking_code(text, asked=requested == "mb_code")
        if code:
            out["mb_code"] = code
        last4 = parse.parse_last4(text, bare=requested == "mb_last4")
        if last4:
            out["mb_last4"] = last4
        if requested in (None, "mb_op"):
            op = first_keyword(compact(text), self._OPS)
            if op:
                out["mb_op"] = op
        op = out.get("mb_op") or state.get("mb_op")
        d = parse.parse_day(text, self.ctx.today())
        # the booking, looked up once, when a day or a time may have to be checked against it
        b = self.found({**state, **out}) if op == "reschedule" and (d or state.get("mb_day")) else None
        if d and op == "reschedule" and requested in (None, "mb_op", "mb_day", "mb_time", "mb_confirm"):
            problem = day_problem(self.ctx.booking(), b.office, b.kind, d) if b else None
            if problem:
                out["_hint"] = problem
            else:
                out["mb_day"] = d.isoformat()
                if requested in ("mb_time", "mb_confirm"):
                    out.update({"mb_time": None, "mb_confirm": None})
        day = out.get("mb_day") or state.get("mb_day")
        if requested in (None, "mb_op", "mb_day", "mb_time") and day and b:
            free = free_slots(self.ctx.booking(), b.office, b.kind, date.fromisoformat(day))
            start = parse.parse_time(text, [(s.start, s.end) for s in free])
            if start:
                out["mb_time"] = start
        if requested == "mb_confirm" and "mb_day" not in out and "mb_time" not in out:
            if state.get("mb_op") == "cancel":
                if re.search(r"(不取消|不要取消|别取消|不用取消|算了|不了|不用了|^不$|^否)", t):
                    yes: Optional[bool] = False
                elif parse.is_question(text):
                    yes = None
                else:
                    yes = True if re.search(r"(取消|确认|确定|是|对|好|嗯|可以|行)", t) else None
            else:
                yes = parse.parse_confirm(text)
            if yes is True:
                out["mb_confirm"] = True
            elif yes is False and state.get("mb_op") == "reschedule":
                out.update({"mb_day": None, "mb_time": None, "mb_confirm": None})  # pick again
            elif yes is False:
                out["mb_confirm"] = False
        return out

    def next_slot(self, state):
        for slot in ("mb_code", "mb_last4"):
            if not state.get(slot):
                return slot
        b = self.found(state)
        if b is None or b.status != "booked":
            return None
        op = state.get("mb_op")
        if not op:
            return "mb_op"
        if op == "reschedule":
            day = state.get("mb_day")
            if not day or day_problem(self.ctx.booking(), b.office, b.kind, date.fromisoformat(day)):
                return "mb_day"  # a day named before the booking was known may not be open
            if not state.get("mb_time"):
                return "mb_time"
        if op in ("cancel", "reschedule") and state.get("mb_confirm") is None:
            return "mb_confirm"
        return None

    def _summary(self, b) -> str:
        office = self.ctx.assistant.catalog.office(b.office)
        status = {"booked": "已预约", "cancelled": "已取消"}.get(b.status, b.status)
        return (f"预约 {b.code}（{status}）：{KINDS.get(b.kind, '')}，{format_day(b.day)} {b.start}-{b.end}，"
                f"{office.name if office else b.office}，预约人 {b.name}（{b.phone}）")

    def question(self, slot, state):
        if slot == "mb_code":
            return text_reply("请告诉我预约确认码（8位字母和数字，在预约成功的消息里）。", kind="form_question")
        if slot == "mb_last4":
            return text_reply("请再告诉我预约时留的手机号码后四位。", kind="form_question")
        b = self.found(state)
        if slot == "mb_op":
            return text_reply(self._summary(b) + "\n请问要做什么：取消预约、改约，还是只是查看？",
                              [Button("取消预约", "取消预约"), Button("改约", "改时间"), Button("就看看", "就看看")],
                              kind="form_question")
        if slot == "mb_day":
            return day_choice("可以改约的日期：", self.ctx.booking().availability(b.office, b.kind, days=6))
        if slot == "mb_time":
            day = date.fromisoformat(state["mb_day"])
            return slot_choice(day, free_slots(self.ctx.booking(), b.office, b.kind, day))
        if state.get("mb_op") == "cancel":
            return text_reply(self._summary(b) + "\n确定要取消这个预约吗？取消后名额会释放给别人。",
                              [Button("确认取消", "确认取消"), Button("不取消", "不取消")], kind="form_question")
        return text_reply(f"把预约改到{format_day(date.fromisoformat(state['mb_day']))} {state['mb_time']}，确认吗？",
                          [Button("确认", "确认"), Button("再选", "重新选")], kind="form_question")

    def hint(self, slot, state):
        return {
            "mb_code": "没看出确认码：确认码是8位字母和数字。",
            "mb_last4": "请只回复手机号码的最后4位数字。",
            "mb_op": "请选择取消、改约或查看。",
            "mb_day": "抱歉，没看懂日期，请从下面选一天。",
            "mb_time": "请从下面的时段中选一个。",
            "mb_confirm": "请回复“确认”或“不”。",
        }.get(slot, super().hint(slot, state))

    def complete(self, state):
        svc = self.ctx.booking()
        checked = self.checked(state)
        b = checked.value
        if b is None:
            return self.refused(checked, state) or Outcome(text_reply(
                "没有找到与这个确认码和手机尾号对应的预约，请核对后再试。",
                [Button("重新查询", "/manage_booking")], kind="booking_not_found"))
        op = state.get("mb_op")
        if b.status != "booked" or op in (None, "view") or state.get("mb_confirm") is False:
            prefix = "好的，预约保持不变。\n" if state.get("mb_confirm") is False else ""
            return Outcome(text_reply(prefix + self._summary(b), kind="booking_view"))
        if op == "cancel":
            r = svc.cancel(state["mb_code"], state["mb_last4"], client_of(state))
            text = "预约已取消。" + (self._summary(r.booking) if r.ok else "") if r.ok else "预约没能取消，请稍后再试。"
            return Outcome(text_reply(text, [Button("重新预约", "/book_appointment")], kind="booking_cancelled"))
        r = svc.reschedule(state["mb_code"], state["mb_last4"], date.fromisoformat(state["mb_day"]), state["mb_time"],
                           client_of(state))
        if not r.ok:
            return Outcome(text_reply("抱歉，这个时段刚刚约满或不再开放，原预约保持不变。可以说“改约”再选一次。",
                                      kind="booking_reschedule_failed"))
        return Outcome(text_reply("改约成功。" + self._summary(r.booking), kind="booking_rescheduled"))
