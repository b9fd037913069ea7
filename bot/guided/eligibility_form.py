"""养老补贴测算: the eligibility form."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, Optional


from .. import eligibility as elig
from ..assistant import Button
from ..normalize import compact
from .engine import (
    CORRECTION,
    AGE, REGION, YES_NO_BUTTONS, GuidedForm, Outcome, hukou_answer, region_buttons, region_in,
    text_reply,
)

if TYPE_CHECKING:
    pass


class EligibilityForm(GuidedForm):
    name = "eligibility_form"
    intent = "check_eligibility"
    title = "养老补贴测算"
    resume_words = "继续测算"
    slots = ("elig_age", "elig_hukou", "elig_economic", "elig_care", "elig_care_assessed")
    optional = (REGION, "elig_hukou", "elig_economic", "elig_care")
    related = ("elder_age_allowance", "elder_service_subsidy", "elder_care_subsidy", "elder_assessment",
               "elder_home_adaptation", "elder_institution")

    _DONT_KNOW = {
        "elig_age": ("没关系，老人身份证上有出生年月，看一下就能算出来；说个大概的岁数也可以，例如“八十多岁”。", {}),
        REGION: ("没关系，先按全国的一般规定测算；知道城市后可以再算一次。", {}),
        "elig_hukou": ("没关系，先按老人是当地户籍测算（多数老人是），结果里会提醒您确认。", {"elig_hukou": True}),
        "elig_economic": ("没关系，先按不是低保、特困或低收入家庭测算，结果里会说明。", {"elig_economic": "none"}),
        "elig_care": ("没关系，老人的身体情况先不算，结果里会说明失能补贴要怎么确认。", {}),
    }
    # the caveat the result carries for each answer the citizen did not know
    _CAVEATS = {
        REGION: "老人所在城市没有告诉我，以上按全国的一般规定测算，当地标准可能不同。",
        "elig_hukou": "以上按老人是当地户籍测算；户口不在当地的话，高龄津贴等可能领不了，请向户籍所在社区确认。",
        "elig_economic": ("以上按不是低保、特困或低收入家庭测算；如果是，还可能领经济困难老年人养老服务补贴，"
                          "可以向社区或街道确认。"),
        "elig_care": "老人的身体情况没有测算：失能护理补贴要看老年人能力评估的结果，可以向社区或街道申请评估。",
    }
    _EXAMPLES = {
        "elig_age": "“85岁”“八十五”“1940年出生”",
        REGION: "“杭州”“西湖区”“郴州市”",
        "elig_hukou": "“是”“不是，户口在河南”",
        "elig_economic": "“低保户”“特困”“都不是”",
        "elig_care": "“能自理”“走路要人扶”“长期卧床”“评估过，中度失能”",
    }

    def dont_know(self, slot, state):
        return self._DONT_KNOW.get(slot) or super().dont_know(slot, state)

    def examples(self, slot, state):
        return self._EXAMPLES.get(slot, "")

    acknowledgements = (
        (r"(一个人住|独居|自己住|单独住|没人照顾|子女不在身边|儿女不在身边)",
         "好的，记下了：老人独自居住。独居老人可以问问社区有没有探访关爱服务。"),
        (r"(腿脚不好|走路不方便|行动不便|身体不好|有病|住院)", "好的，记下了老人的身体情况。"),
    )

    def prefill(self, state):
        out = {}
        if state.get(AGE) is not None:
            out["elig_age"] = float(state[AGE])
        return out

    def extract(self, text, state, requested):
        out: Dict[str, Any] = {}
        t = compact(text)
        if not t:
            return out
        age = elig.parse_age(text, today=self.ctx.today())
        if age is None and requested == "elig_age":
            m = re.fullmatch(r"([0-9]{2,3})(周岁|岁)?(了)?", t)
            age = int(m.group(1)) if m else None
        if age is not None and 40 <= age <= 130:
            out["elig_age"] = float(age)
        region = region_in(self.ctx, text, state, requested)
        if region is not None:
            out[REGION] = region
        economic = elig.parse_economic(text) if requested == "elig_economic" else _explicit_economic(text)
        if economic:
            out["elig_economic"] = economic
        level, needs = elig.care_level_from_text(text)
        if level:
            out["elig_care"] = level
            out["elig_care_assessed"] = not needs
        correction = bool(CORRECTION.match(t)) and bool(out)  # "不对，老人是92岁" corrects; it says no "不是"
        clauses = [c for c in re.split(r"[，,。；;、\s]+", text) if re.search(r"(户口|户籍)", c)]
        if requested == "elig_hukou" and not clauses and not correction and "elig_economic" not in out:
            clauses = [text]
        for clause in clauses:  # "87岁，户口在杭州，是低保户": the clause about the 户口
            yes = hukou_answer(self.ctx, clause, {**state, **out})
            if yes is not None:
                out["elig_hukou"] = yes
        return out

    def profile(self, state) -> Optional[elig.ElderProfile]:
        if state.get("elig_age") is None:
            return None
        return elig.ElderProfile(
            age=int(state["elig_age"]), region_code=state.get(REGION), local_hukou=state.get("elig_hukou"),
            economic=state.get("elig_economic"), care_level=state.get("elig_care"),
            care_level_assessed=bool(state.get("elig_care_assessed")))

    def result(self, state) -> elig.EligibilityResult:
        return elig.check(self.profile(state), self.ctx.eligibility_rules(), parents=self.ctx.parents,
                          today=self.ctx.today())

    _SLOT_OF = {"region": REGION, "local_hukou": "elig_hukou", "economic": "elig_economic",
                "care_level": "elig_care"}

    def next_slot(self, state):
        if state.get("elig_age") is None:
            return "elig_age"
        skipped = self.skipped(state)
        for missing in self.result(state).missing:
            slot = self._SLOT_OF.get(missing)
            if slot and slot not in skipped and state.get(slot) is None:
                return slot
        return None

    def question(self, slot, state):
        if slot == "elig_age":
            return text_reply("好的，我来帮您测算老人能领哪些养老补贴，只需回答几个问题，随时说“算了”可以退出。\n"
                              "老人今年多大年纪？（例如：85岁、八十五、1940年出生）", kind="form_question")
        if slot == REGION:
            return text_reply(elig.QUESTIONS["region"], region_buttons(self.ctx.assistant), kind="form_question")
        if slot == "elig_hukou":
            question = next((q for q in self.result(state).questions if "户籍" in q), "老人是当地户籍吗？")
            return text_reply(question, YES_NO_BUTTONS,
                              kind="form_question")
        if slot == "elig_economic":
            return text_reply(elig.QUESTIONS["economic"],
                              [Button("低保", "低保"), Button("特困", "特困"), Button("低收入", "低收入"),
                               Button("都不是", "都不是")], kind="form_question")
        return text_reply(elig.QUESTIONS["care_level"] + "（也可以描述一下，例如“能自理”“要人扶”“长期卧床”）",
                          [Button("能自理", "能自理"), Button("需要人扶", "需要人扶"), Button("长期卧床", "长期卧床"),
                           Button("不清楚", "不清楚")], kind="form_question")

    def hint(self, slot, state):
        return {
            "elig_age": "抱歉，我没看出老人的年龄。",
            REGION: "抱歉，我没能识别出这个地区。",
            "elig_hukou": "抱歉，请回答“是”或“不是”。",
            "elig_economic": "抱歉，我没看懂。",
            "elig_care": "抱歉，我没看懂老人的身体状况。",
        }.get(slot, super().hint(slot, state))

    def complete(self, state):
        if state.get("elig_age") is None:
            return Outcome(text_reply("没有老人的年龄，暂时无法测算。需要时说“测算养老补贴”重新开始。"))
        result = self.result(state)
        text = elig.render_text(result)
        caveats = [self._CAVEATS[s] for s in dict.fromkeys(self.skipped(state))
                   if s in self._CAVEATS and state.get(s) == self._DONT_KNOW[s][1].get(s)]  # not answered since
        if caveats:
            text += "\n\n请注意：\n" + "\n".join("· " + c for c in caveats)
        buttons = [Button(b.name, f"/{b.code.replace('.', '_', 1)}") for b in result.granted
                   if self.ctx.assistant.catalog.service(b.code)][:3]
        buttons += [Button("重新测算", "/check_eligibility"), Button("转人工", "/human_handoff")]
        return Outcome(text_reply(text, buttons, kind="eligibility_result"), {AGE: state.get("elig_age")})


def _explicit_economic(text: str) -> Optional[str]:
    """Economic status named outright ("他是低保户"), outside its own question."""
    value = elig.parse_economic(text)
    return value if value and value != "none" else None
