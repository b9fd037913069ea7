"""身后事清单: the funeral-checklist form and the progress messages on its list."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict


from .. import eligibility as elig
from .. import funeral_checklist as fc
from ..assistant import Button
from ..normalize import compact
from .engine import (
    CORRECTION,
    REGION, YES_NO_BUTTONS, GuidedForm, Outcome, hukou_answer, region_buttons, region_in,
    text_reply, yes_no,
)

if TYPE_CHECKING:
    from .context import Guided


class FuneralForm(GuidedForm):
    name = "funeral_form"
    intent = "make_checklist"
    title = "身后事清单"
    resume_words = "继续列清单"
    related = ("funeral_after_death", "funeral_fee_waiver", "funeral_death_benefits", "funeral_eco_burial")
    slots = ("fun_place", "fun_natural", "fun_hukou", "fun_pension", "fun_low_income")

    _EXAMPLES = {"fun_place": "“在医院”“在家里”“养老院”", REGION: "“杭州”“北湖区”",
                 "fun_natural": "“是，因病去世”“不是，意外”", "fun_hukou": "“是”“不是”",
                 "fun_pension": "“退休职工”“城乡居民养老保险”“都没有”", "fun_low_income": "“是”“不是”"}

    def examples(self, slot, state):
        return self._EXAMPLES.get(slot, "")

    def dont_know(self, slot, state):
        if slot == "fun_place":
            return "没关系，先按“其他地方”列清单，开具死亡证明的地方会写清楚。", {"fun_place": "elsewhere"}
        if slot == "fun_pension":
            return "没关系，这一项先跳过；丧葬补助金怎么领，清单里会说明怎么问清楚。", {}
        return super().dont_know(slot, state)
    optional = (REGION, "fun_natural", "fun_hukou", "fun_pension", "fun_low_income")

    _NATURAL = re.compile(r"(病故|病逝|病死|因病|生病|病重|病走|自然死亡|正常死亡|寿终|老死|善终|癌|正常原因|老了走的)")
    _UNNATURAL = re.compile(r"(意外|车祸|事故|自杀|溺水|坠楼|非正常|被害|他杀|工伤|摔死|触电|火灾)")
    _NOT_UNNATURAL = re.compile(
        r"(不是|没有|并非|不属于|不算|排除)(意外|车祸|事故|自杀|溺水|坠楼|非正常|被害|他杀|工伤)")

    def extract(self, text, state, requested):
        out: Dict[str, Any] = {}
        t = compact(text)
        if not t:
            return out
        place = fc.parse_place(text)
        if place:
            out["fun_place"] = place
        elif requested == "fun_place" and re.search(r"(其他|别处|外面|路上)", t):
            out["fun_place"] = "elsewhere"
        if self._NOT_UNNATURAL.search(t) or (self._NATURAL.search(t) and not self._UNNATURAL.search(t)):
            out["fun_natural"] = True
        elif self._UNNATURAL.search(t):
            out["fun_natural"] = False
        elif requested == "fun_natural" and not (CORRECTION.match(t) and out):
            yes = yes_no(text)
            if yes is not None:
                out["fun_natural"] = yes
        region = region_in(self.ctx, text, state, requested)
        if region is not None:
            out[REGION] = region
        pension = fc.parse_pension(text)
        if pension and (requested == "fun_pension" or pension != "none"):
            out["fun_pension"] = pension
        economic = elig.parse_economic(text)
        if economic in ("dibao", "tekun", "low_income"):
            out["fun_low_income"] = True
        elif requested == "fun_low_income":
            yes = yes_no(text) if economic is None else False
            if yes is not None:
                out["fun_low_income"] = yes
        if requested == "fun_hukou" or re.search(r"(户口|户籍)", t):
            yes = hukou_answer(self.ctx, text, {**state, **out})
            if yes is not None:
                out["fun_hukou"] = yes
        return out

    def case(self, state) -> fc.FuneralCase:
        return fc.FuneralCase(place=state.get("fun_place") or "elsewhere", natural=state.get("fun_natural"),
                              region_code=state.get(REGION), local_hukou=state.get("fun_hukou"),
                              pension=state.get("fun_pension"), low_income=state.get("fun_low_income"))

    def checklist(self, state) -> fc.Checklist:
        return fc.build(self.case(state), self.ctx.funeral_rules(), parents=self.ctx.parents, today=self.ctx.today())

    _SLOT_OF = {"region": REGION, "natural": "fun_natural", "local_hukou": "fun_hukou", "pension": "fun_pension",
                "low_income": "fun_low_income"}

    def next_slot(self, state):
        if state.get("fun_place") is None:
            return "fun_place"
        skipped = self.skipped(state)
        for missing in self.checklist(state).missing:
            slot = self._SLOT_OF.get(missing)
            if slot and slot not in skipped and state.get(slot) is None:
                return slot
        return None

    def question(self, slot, state):
        if slot == "fun_place":
            return text_reply("家人离世，请您节哀。我按您家的情况列一份办事清单，"
                              "先问几个问题（随时说“算了”可以退出）。\n"
                              "逝者是在哪里去世的？",
                              [Button("医院", "在医院"), Button("家中", "在家里"), Button("养老院", "在养老院"),
                               Button("其他地方", "其他地方")], kind="form_question")
        if slot == REGION:
            return text_reply(fc.QUESTIONS["region"], region_buttons(self.ctx.assistant), kind="form_question")
        if slot == "fun_natural":
            return text_reply(fc.QUESTIONS["natural"], [Button("是，正常死亡", "是，因病去世"),
                                                        Button("不是，意外", "不是，意外去世"),
                                                        Button("不清楚", "不清楚")], kind="form_question")
        if slot == "fun_hukou":
            q = next((q for q in self.checklist(state).questions if "户籍" in q), "逝者是当地户籍吗？")
            return text_reply(q, YES_NO_BUTTONS,
                              kind="form_question")
        if slot == "fun_low_income":
            return text_reply(fc.QUESTIONS["low_income"] + "（困难家庭还可以申请临时救助）",
                              YES_NO_BUTTONS,
                              kind="form_question")
        return text_reply(fc.QUESTIONS["pension"], [Button("职工养老保险/退休", "职工养老保险"),
                                                    Button("城乡居民养老保险", "城乡居民养老保险"),
                                                    Button("都没有", "都没有"), Button("不清楚", "不清楚")],
                          kind="form_question")

    def hint(self, slot, state):
        return {
            "fun_place": "抱歉，我没看懂去世的地点。",
            REGION: "抱歉，我没能识别出这个地区。",
            "fun_natural": "抱歉，请回答“是”或“不是”。",
            "fun_hukou": "抱歉，请回答“是”或“不是”。",
            "fun_pension": "抱歉，我没看懂。",
            "fun_low_income": "抱歉，请回答“是”或“不是”。",
        }.get(slot, super().hint(slot, state))

    def complete(self, state):
        checklist = self.checklist(state)
        # the answers stay: the progress messages ("第2步办好了") rebuild the same list
        keep = {s: state.get(s) for s in self.slots}
        keep["fun_done"] = []
        return Outcome(text_reply(fc.render_text(checklist), PROGRESS_BUTTONS, kind="funeral_checklist",
                                  service="funeral.after_death"), keep)

    def clear(self):
        out = super().clear()
        out["fun_done"] = None
        return out


PROGRESS_BUTTONS = [Button("这一步办好了", "办好了"), Button("下一步", "下一步"), Button("转人工", "/human_handoff")]


def funeral_progress(ctx: Guided, text: str, state: Dict[str, Any]) -> Outcome:
    """"第2步办好了" / "下一步" on the checklist made earlier in the conversation."""
    if not state.get("fun_place"):
        return Outcome(text_reply("我们还没有生成身后事办事清单。需要的话，我可以按您家的情况一步一步列出来。",
                                  [Button("生成办事清单", "/make_checklist"),
                                   Button("我能办什么", "/ask_capabilities")], kind="progress_no_checklist"))
    form = FuneralForm(ctx)
    checklist = form.checklist(state)
    done = [n for n in (state.get("fun_done") or []) if isinstance(n, int) and 1 <= n <= len(checklist.steps)]
    for n in done:
        checklist.mark_done(n)
    progress = fc.parse_progress(text)
    if progress is None:
        progress = fc.Progress("next", None)
    try:
        step = checklist.apply(progress)
    except ValueError:
        return Outcome(text_reply(f"清单里只有第1到第{len(checklist.steps)}步，请告诉我是第几步。",
                                  PROGRESS_BUTTONS, kind="progress"))
    done = [s.no for s in checklist.steps if s.done]
    lines = []
    if progress.action == "done":
        just = progress.step or (max(done) if done else None)
        if just:
            lines.append(f"好的，第{just}步已记下办好了（共{len(checklist.steps)}步，已办好{len(done)}步）。")
    if step is None or checklist.finished:
        lines.append("清单上的事项都办好了。辛苦了，请多保重。如还有问题，随时问我。")
        return Outcome(text_reply("\n".join(lines), [Button("我能办什么", "/ask_capabilities")], kind="progress"),
                       {"fun_done": done})
    lines.append("接下来办：" if progress.action != "show" else "您问的这一步：")
    lines += fc.step_text(step)
    if not step.done:
        lines.append(f"办好后告诉我“第{step.no}步办好了”。")
    return Outcome(text_reply("\n".join(lines), PROGRESS_BUTTONS, kind="progress", service="funeral.after_death"),
                   {"fun_done": done})
