"""办件进度查询: the status-lookup form."""
from __future__ import annotations

import re


from ..assistant import Button
from ..normalize import normalize
from . import parse
from .engine import (
    REGION, GuidedForm, Outcome, client_of, text_reply,
)



class StatusForm(GuidedForm):
    name = "status_form"
    intent = "check_status"
    title = "办件进度查询"
    resume_words = "继续查询进度"
    slots = ("status_number", "status_last4")

    def examples(self, slot, state):
        return "“MZ2026110001”" if slot == "status_number" else "“5678”"

    def dont_know(self, slot, state):
        if slot == "status_number":
            return ("受理编号在受理回执或受理短信里。找不到的话，可以带身份证到受理窗口查询，或说“转人工”。", {})
        return "就是申请时留的手机号码的最后4位数字。", {}
    personal = slots

    def extract(self, text, state, requested):
        out = {}
        last4 = parse.parse_last4(text, bare=requested == "status_last4")
        number = parse.parse_application_number(text)
        tokens = re.split(r"[\s,，、;；。]+", normalize(text or "").strip())
        if number and last4 is None and len(tokens) > 1:
            # "HZ2026110001 1234": the four digits after the number
            last4 = next((tk for tk in tokens if re.fullmatch(r"[0-9]{4}", tk)), None)
        if number and (last4 is None or not number.endswith(last4) or len(number) > 4):
            if not (requested == "status_last4" and len(number) <= 4):
                out["status_number"] = number
        if last4:
            out["status_last4"] = last4
        return out

    def next_slot(self, state):
        for slot in self.slots:
            if not state.get(slot):
                return slot
        return None

    def question(self, slot, state):
        if slot == "status_number":
            return text_reply("好的，帮您查询办件进度。请告诉我受理编号（在受理回执或短信里，例如 MZ2026110001）。",
                              kind="form_question")
        return text_reply("为保护您的信息，请再告诉我申请时留的手机号码的后四位。", kind="form_question")

    def hint(self, slot, state):
        if slot == "status_number":
            return "抱歉，没看出受理编号：编号由字母和数字组成，至少6位。"
        return "请只回复手机号码的最后4位数字。"

    def complete(self, state):
        result = self.ctx.status().lookup(state.get("status_number") or "", state.get("status_last4") or "",
                                           client_of(state))
        again = [Button("重新查询", "/check_status"), Button("转人工", "/human_handoff")]
        hotline = self.ctx.assistant.catalog.hotline_for(state.get(REGION))
        if result.outcome == "throttled":
            return Outcome(text_reply(f"查询失败次数较多，为保护申请人信息，请{result.wait}后再试，"
                                      f"或携带身份证到受理窗口查询，也可以拨打 {hotline}。", kind="status_throttled"))
        if result.outcome != "found":
            return Outcome(text_reply("没有查到与这个受理编号和手机尾号对应的办件。"
                                      "请核对受理回执上的编号和申请时留的手机号码；"
                                      f"如有疑问，可以拨打 {hotline} 或到受理窗口查询。",
                                      again, kind="status_not_found"))
        v = result.view
        service = self.ctx.assistant.catalog.service(v.service_code)
        lines = [f"办件进度（受理编号 {v.number}）",
                 f"业务：{service.name if service else v.service_code}",
                 f"申请人：{v.name}　联系电话：{v.phone}",
                 f"当前状态：{v.current.status}（{_when(v.current.at)}）"]
        if v.current.note:
            lines.append(f"说明：{v.current.note}")
        lines.append("办理记录：")
        for s in v.history:
            lines.append(f"· {_when(s.at)} {s.status}" + (f"：{s.note}" if s.note else ""))
        if v.sample:
            lines.append("（这是演示用的示例办件，不是真实数据。）")
        return Outcome(text_reply("\n".join(lines), [Button("转人工", "/human_handoff")], kind="status_found",
                                  service=v.service_code))


def _when(at) -> str:
    return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"
