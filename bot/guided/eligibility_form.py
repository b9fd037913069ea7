"""养老补贴测算: the eligibility form.

The questions are the answers the rules still need (``EligibilityResult.missing``),
and one more only where it can matter: the 残疾人证 grade (``elig_disability``) for
the two disability subsidies, asked when the conversation has spoken of a disability
(``elig_disability_cue``, set by any message of the form that does) or the form was
opened from the disability service's guide (the ``service`` slot), never on every
elder's check. A grade said outright ("我爸是一级肢体残疾") is taken without asking.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Optional


from .. import eligibility as elig
from ..assistant import Button
from ..normalize import compact
from .engine import (
    CORRECTION,
    AGE, REGION, YES_NO_BUTTONS, GuidedForm, Outcome, hukou_answer, is_dont_know, region_buttons, region_in,
    text_reply,
)

if TYPE_CHECKING:
    pass

DISABILITY = "elig_disability"  # 残疾人证 grade 1-4, 0 = no certificate
DISABILITY_CUE = "elig_disability_cue"  # a disability was spoken of: MENTIONED, or SEVERE ("重度残疾", no grade)
MENTIONED, SEVERE = "mentioned", "severe"


class EligibilityForm(GuidedForm):
    name = "eligibility_form"
    intent = "check_eligibility"
    title = "养老补贴测算"
    resume_words = "继续测算"
    slots = ("elig_age", "elig_hukou", "elig_economic", "elig_care", "elig_care_assessed", DISABILITY,
             DISABILITY_CUE)
    optional = (REGION, "elig_hukou", "elig_economic", "elig_care", DISABILITY)
    related = ("elder_age_allowance", "elder_service_subsidy", "elder_care_subsidy", "elder_assessment",
               "elder_home_adaptation", "elder_institution", "disability_two_subsidies")

    _DONT_KNOW = {
        "elig_age": ("没关系，老人身份证上有出生年月，看一下就能算出来；说个大概的岁数也可以，例如“八十多岁”。", {}),
        REGION: ("没关系，先按全国的一般规定测算；知道城市后可以再算一次。", {}),
        "elig_hukou": ("没关系，先按老人是当地户籍测算（多数老人是），结果里会提醒您确认。", {"elig_hukou": True}),
        "elig_economic": ("没关系，先按不是低保、特困或低收入家庭测算，结果里会说明。", {"elig_economic": "none"}),
        "elig_care": ("没关系，老人的身体情况先不算，结果里会说明失能补贴要怎么确认。", {}),
        DISABILITY: ("没关系，残疾人的补贴先不算，结果里会说明要看哪些条件。", {}),
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
        DISABILITY: "“二级”“一级肢体残疾”“没有残疾人证”“不清楚”",
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
        out.update(self._disability(text, requested == DISABILITY))
        correction = bool(CORRECTION.match(t)) and bool(out)  # "不对，老人是92岁" corrects; it says no "不是"
        clauses = [c for c in re.split(r"[，,。；;、\s]+", text) if re.search(r"(户口|户籍)", c)]
        if requested == "elig_hukou" and not clauses and not correction and "elig_economic" not in out:
            clauses = [text]
        for clause in clauses:  # "87岁，户口在杭州，是低保户": the clause about the 户口
            yes = hukou_answer(self.ctx, clause, {**state, **out})
            if yes is not None:
                out["elig_hukou"] = yes
        return out

    def turn(self, message, state):
        """A question about disability asked inside the form ("重度残疾人护理补贴我妈能
        领吗？", answered from the FAQ, so nothing is extracted from it) is a cue too."""
        out = super().turn(message, state)
        if out.requested and not out.exit and elig.mentions_disability(message.text or ""):
            now = {**state, **out.updates}
            if now.get(DISABILITY) is None and not now.get(DISABILITY_CUE):
                out.updates[DISABILITY_CUE] = MENTIONED
        return out

    def _disability(self, text: str, asked: bool) -> Dict[str, Any]:
        """What a message says about a 残疾人证: the grade (0 = none), or that a
        disability was spoken of (the cue to ask), or, answering the question, why
        it is asked again."""
        grade = elig.parse_disability_level(text, asked=asked)
        if grade is not None:
            return {DISABILITY: float(grade)}
        if elig.says_severe_disability(text, asked):
            out: Dict[str, Any] = {DISABILITY_CUE: SEVERE}
            if asked:
                out["_hint"] = "记下了：重度残疾。"
            return out
        if asked and re.search(r"(有|是)", compact(text)) and not is_dont_know(text):
            return {"_hint": "请告诉我残疾人证上写的残疾等级。"}  # "有" / "有证": which grade?
        if elig.mentions_disability(text):
            return {DISABILITY_CUE: MENTIONED}
        return {}

    def _disability_benefits(self, state) -> List[elig.Benefit]:
        chain = elig.region_chain(state.get(REGION), self.ctx.parents)
        return elig.disability_benefits(self.ctx.eligibility_rules(), chain)

    def _disability_matters(self, state) -> bool:
        """Ask about a 残疾人证 only where it can matter: the rules have benefits that
        depend on it, and the conversation spoke of a disability or came from the guide
        of one of those benefits' services."""
        benefits = self._disability_benefits(state)
        if not benefits:
            return False
        return bool(state.get(DISABILITY_CUE)) or state.get("service") in {b.service for b in benefits}

    def profile(self, state) -> Optional[elig.ElderProfile]:
        if state.get("elig_age") is None:
            return None
        grade = state.get(DISABILITY)
        return elig.ElderProfile(
            age=int(state["elig_age"]), region_code=state.get(REGION), local_hukou=state.get("elig_hukou"),
            economic=state.get("elig_economic"), care_level=state.get("elig_care"),
            care_level_assessed=bool(state.get("elig_care_assessed")),
            disability_level=None if grade is None else int(grade))

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
        if state.get(DISABILITY) is None and DISABILITY not in skipped and self._disability_matters(state):
            return DISABILITY
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
        if slot == DISABILITY:
            return self._disability_question(state)
        return text_reply(elig.QUESTIONS["care_level"] + "（也可以描述一下，例如“能自理”“要人扶”“长期卧床”）",
                          [Button("能自理", "能自理"), Button("需要人扶", "需要人扶"), Button("长期卧床", "长期卧床"),
                           Button("不清楚", "不清楚")], kind="form_question")

    def _disability_question(self, state):
        names = "和".join(b.name for b in self._disability_benefits(state))
        grades = list(elig.GRADE_LABELS.values())
        if state.get(DISABILITY_CUE) == SEVERE:  # "重度残疾": 一级 or 二级, the certificate says which
            grades = [elig.GRADE_LABELS[g] for g in elig.SEVERE_GRADES]
            either = "或".join(grades)
            text = (f"您说老人是重度残疾。按残疾人补贴政策，重度残疾指残疾人证上的{either}。"
                    f"老人的残疾人证上写的是{'还是'.join(grades)}？")
        else:
            text = (f"老人有残疾人证吗？有的话，证上写的残疾等级是几级？"
                    f"（{names}要看这个等级；没有残疾人证的，回答“没有”就行）")
        buttons = [Button(g, g) for g in grades] + [Button("没有残疾人证", "没有残疾人证"), Button("不清楚", "不清楚")]
        return text_reply(text, buttons, kind="form_question")

    def hint(self, slot, state):
        return {
            "elig_age": "抱歉，我没看出老人的年龄。",
            REGION: "抱歉，我没能识别出这个地区。",
            "elig_hukou": "抱歉，请回答“是”或“不是”。",
            "elig_economic": "抱歉，我没看懂。",
            "elig_care": "抱歉，我没看懂老人的身体状况。",
            DISABILITY: "抱歉，我没看懂。残疾人证上写着残疾等级（一级到四级）。",
        }.get(slot, super().hint(slot, state))

    def complete(self, state):
        if state.get("elig_age") is None:
            return Outcome(text_reply("没有老人的年龄，暂时无法测算。需要时说“测算养老补贴”重新开始。"))
        result = self.result(state)
        text = elig.render_text(result)
        caveats = [c for c in (self._caveat(s, state) for s in dict.fromkeys(self.skipped(state))) if c]
        if caveats:
            text += "\n\n请注意：\n" + "\n".join("· " + c for c in caveats)
        buttons = [Button(b.name, f"/{b.code.replace('.', '_', 1)}") for b in result.granted
                   if self.ctx.assistant.catalog.service(b.code)][:3]
        buttons += [Button("重新测算", "/check_eligibility"), Button("转人工", "/human_handoff")]
        return Outcome(text_reply(text, buttons, kind="eligibility_result"), {AGE: state.get("elig_age")})

    def _caveat(self, slot, state) -> Optional[str]:
        """What the result must say about a question skipped and not answered since."""
        if slot == DISABILITY:
            if state.get(DISABILITY) is not None:
                return None
            conditions = "；".join(elig.disability_conditions(self.ctx.eligibility_rules(),
                                                             elig.region_chain(state.get(REGION), self.ctx.parents)))
            severe = "或".join(elig.GRADE_LABELS[g] for g in elig.SEVERE_GRADES)
            return (f"残疾人证的等级不清楚，残疾人的补贴没有测算：{conditions}（按补贴政策，重度残疾指{severe}）。"
                    "看一下残疾人证上的等级后可以再算一次，也可以持证向户籍所在街道（乡镇）咨询。")
        if slot in self._CAVEATS and state.get(slot) == self._DONT_KNOW[slot][1].get(slot):
            return self._CAVEATS[slot]
        return None


def _explicit_economic(text: str) -> Optional[str]:
    """Economic status named outright ("他是低保户"), outside its own question."""
    value = elig.parse_economic(text)
    return value if value and value != "none" else None
