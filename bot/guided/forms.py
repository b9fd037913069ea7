"""The guided forms: what to ask next, how to read the answers, what to answer at the end.

Rasa-free. A form sees a :class:`Message` (the text, the NLU intent and confidence)
and the conversation ``state`` (slot name -> value) and returns a :class:`Turn`: the
slot values to set, the question to send and the slot asked for, or the end of the
form. ``actions/guided.py`` turns that into Rasa events; any other channel could
drive the same forms.

Every answer is read from the text by the parsers here and in ``bot/`` (not by NLU
entities), so corrections work: an answer that names an earlier field ("不对，老人是
90岁") overwrites it. An answer that cannot be read gets the question again with a
hint; a second miss on an optional question skips it. "算了" (intent ``stop``) ends
the form, "转人工" hands over, and a clear question about something else ends the
form and is answered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from markupsafe import escape

from .. import eligibility as elig
from .. import funeral_checklist as fc
from ..assistant import Assistant, Button, Reply, SAMPLE_CITIES
from ..booking import BookingService, DayView, load_schedules
from ..booking_guard import Access
from ..marriage_precheck import Party, precheck
from ..normalize import compact, first_keyword, normalize
from ..status_lookup import StatusLookup
from ..workdays import divorce_timeline, format_day
from . import parse

# conversation-level slots every form uses
SKIPPED = "form_skipped"  # questions the citizen skipped or could not answer (list)
RETRY = "form_retry"  # the question already repeated once
EXIT = "form_exit"  # why the form ended early: stop | handoff | switch | unavailable
RESUME = "form_resume"  # a form reopened by its own submit keeps its answers
LAST = "form_last"  # the form running (kept after a handoff, for the operator)
REGION = "region"
AGE = "age"

SERVICE_INTENTS = frozenset({
    "marriage_register", "marriage_divorce", "marriage_reissue", "funeral_after_death", "funeral_fee_waiver",
    "funeral_death_benefits", "funeral_eco_burial", "elder_age_allowance", "elder_service_subsidy",
    "elder_care_subsidy", "elder_assessment", "elder_home_adaptation", "elder_institution",
    "assistance_dibao", "assistance_temporary",
})
GUIDED_INTENTS = {
    "check_eligibility": "eligibility_form",
    "make_checklist": "funeral_form",
    "book_appointment": "booking_form",
    "manage_booking": "manage_booking_form",
    "check_status": "status_form",
}
SWITCH_INTENTS = SERVICE_INTENTS | set(GUIDED_INTENTS) | {"ask_capabilities", "other_question"}
SKIP_WORDS = re.compile(r"^(跳过|略过|不知道|不清楚|不确定|不记得|记不清|说不好|不好说|下一个|先跳过|不方便说)")
STOP_CONFIDENCE = 0.7  # a "stop" that also reads as an answer needs this much
SWITCH_CONFIDENCE = 0.7


@dataclass(frozen=True)
class Message:
    text: str
    intent: Optional[str] = None
    confidence: float = 0.0
    conversation: str = ""  # sender id


@dataclass
class Turn:
    updates: Dict[str, Any]
    reply: Optional[Reply]  # the question (or hint) to send; None when the form ends
    requested: Optional[str]  # the slot asked for; None ends the form
    exit: Optional[str] = None


@dataclass
class Outcome:
    """What the form's submit step says and does."""
    reply: Optional[Reply]
    updates: Dict[str, Any] = field(default_factory=dict)
    followup: Optional[str] = None  # a Rasa action to run next (handoff, guide, reopen a form)


def client_of(state: Dict[str, Any]) -> str:
    """Who attempt limits count against: the channel's hashed client address (``_client``,
    set by the Rasa adapter), else the conversation."""
    return state.get("_client") or state.get("_conversation") or ""


def text_reply(text: str, buttons: Sequence[Button] = (), kind: str = "form", service: Optional[str] = None) -> Reply:
    return Reply(text, str(escape(text)), list(buttons), service=service, kind=kind)


def exit_reason(message: Message, understood: bool, own_intent: str) -> Optional[str]:
    intent, conf = message.intent, message.confidence or 0.0
    if intent == "stop" and (not understood or conf >= STOP_CONFIDENCE):
        return "stop"
    if intent == "human_handoff" and (not understood or conf >= STOP_CONFIDENCE):
        return "handoff"
    if understood:
        return None
    return "switch" if confident_switch(message, own_intent) else None


def confident_switch(message: Message, own_intent: str) -> bool:
    """NLU is sure the message is about another service or guided task."""
    return (message.intent in SWITCH_INTENTS and message.intent != own_intent
            and (message.confidence or 0.0) >= SWITCH_CONFIDENCE)


class GuidedForm:
    """Base class: subclasses define slots, extraction, the next question and submit."""

    name = ""
    intent = ""  # the intent that starts it
    slots: Tuple[str, ...] = ()  # slots the form owns (cleared when it ends)
    optional: Tuple[str, ...] = ()  # questions that may be skipped
    title = ""

    def __init__(self, ctx: Guided):
        self.ctx = ctx

    # -- to override ----------------------------------------------------------------
    def extract(self, text: str, state: Dict[str, Any], requested: Optional[str]) -> Dict[str, Any]:
        raise NotImplementedError

    def next_slot(self, state: Dict[str, Any]) -> Optional[str]:
        raise NotImplementedError

    def question(self, slot: str, state: Dict[str, Any]) -> Reply:
        raise NotImplementedError

    def hint(self, slot: str, state: Dict[str, Any]) -> str:
        return "抱歉，我没能看懂这个回答。"

    def complete(self, state: Dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def prefill(self, state: Dict[str, Any]) -> Dict[str, Any]:
        return {}

    # -- the engine ------------------------------------------------------------------
    personal: Tuple[str, ...] = ()  # never kept once the form has ended, whatever the ending

    def clear(self) -> Dict[str, Any]:
        return {**{s: None for s in self.slots}, SKIPPED: None, RETRY: None}

    def skipped(self, state: Dict[str, Any]) -> List[str]:
        return list(state.get(SKIPPED) or [])

    def turn(self, message: Message, state: Dict[str, Any]) -> Turn:
        """One citizen message. ``state["_starting"]`` (set by the Rasa adapter: the
        form is not active yet) marks the first turn; without it, a turn with no
        requested slot is the first."""
        state = dict(state)
        requested = state.get("requested_slot")
        starting = bool(state["_starting"]) if "_starting" in state else requested is None
        updates: Dict[str, Any] = {}
        if starting:
            requested = None
            if state.get(RESUME) == self.name:  # reopened by our own submit (a slot was taken meanwhile)
                updates[RESUME] = None
            else:
                updates.update(self.clear())
                for s in self.slots:
                    state[s] = None
                state[SKIPPED] = []
                updates.update(self.prefill(state))
            updates[EXIT] = None
            updates[LAST] = self.name
            state.update(updates)
        text = message.text or ""
        if not starting and parse.is_question(text) and confident_switch(message, self.intent):
            extracted: Dict[str, Any] = {}  # "低保怎么申请" asks about 低保; it does not answer
        else:
            extracted = self.extract(text, state, requested)
        hint_override = extracted.pop("_hint", None)
        understood = bool(extracted)
        if not starting:
            reason = exit_reason(message, understood, self.intent)
            if reason == "stop" and requested in extracted:
                reason = None  # "不是" answering a yes/no question, even if NLU leans to stop
            if reason:
                out = {EXIT: reason}
                if reason == "handoff":  # staff see the answers given so far, not the personal ones
                    out.update({s: None for s in self.personal})
                else:
                    out.update(self.clear())
                return Turn(out, None, None, exit=reason)
        updates.update(extracted)
        state.update(extracted)
        prefix = ""
        if requested and requested not in extracted and not starting:
            skip_asked = message.intent == "skip" or bool(SKIP_WORDS.match(compact(text)))
            if requested in self.optional and (skip_asked or state.get(RETRY) == requested):
                skipped = self.skipped(state) + [requested]
                updates[SKIPPED] = state[SKIPPED] = skipped
                prefix = "好的，这个问题先跳过。\n" if skip_asked else "这个问题先跳过。\n"
            elif not understood or hint_override:
                updates[RETRY] = requested
                q = self.question(requested, state)
                hint = hint_override or self.hint(requested, state)
                if requested not in self.optional and skip_asked:
                    hint = "这一项是必填的，办理需要用到。"
                return Turn(updates, _prefixed(q, hint + "\n"), requested)
        nxt = self.next_slot(state)
        updates[RETRY] = None
        if nxt is None:
            return Turn(updates, None, None)
        if hint_override and nxt == requested:
            prefix = hint_override + "\n" + prefix
        return Turn(updates, _prefixed(self.question(nxt, state), prefix), nxt)

    def submit(self, state: Dict[str, Any]) -> Outcome:
        reason = state.get(EXIT)
        ended = {EXIT: None, LAST: None, "requested_slot": None, **{s: None for s in self.personal}}
        if reason == "stop":
            return Outcome(text_reply(f"好的，已退出{self.title}。需要时随时再找我；您也可以直接问别的问题。",
                                      [Button("我能办什么", "/ask_capabilities")], kind="form_stopped"), ended)
        if reason == "unavailable":  # the apology was sent when the backend failed
            return Outcome(None, {**self.clear(), **ended})
        if reason == "handoff":  # the form's name stays for the operator's summary
            return Outcome(None, {**ended, LAST: self.name}, followup="action_human_handoff")
        if reason == "switch":
            return Outcome(None, {**self.clear(), **ended}, followup="action_after_form_switch")
        outcome = self.complete(state)
        outcome.updates = {**self.clear(), **ended, **outcome.updates}
        return outcome


def _prefixed(reply: Reply, prefix: str) -> Reply:
    if not prefix:
        return reply
    return Reply(prefix + reply.text, str(escape(prefix)) + reply.html, reply.buttons, reply.service, reply.kind)


def _region_in(ctx: Guided, text: str, state: Dict[str, Any], requested: Optional[str] = None) -> Optional[str]:
    """A place named in the answer, as the region of the case. An answer to the 户籍
    question ("是浙江户口", "不是，是河南的") names the 户籍, not where the case is: it
    moves the region only when it says so ("老人住在宁波")."""
    ref = ctx.assistant.catalog.find_region(text)
    if ref is None:
        return None
    t = compact(text)
    lives = re.search(r"(住在|住|现在在|人在|生活在|搬到)", t)
    if state.get(REGION) and not lives:
        if requested in HUKOU_SLOTS or re.search(r"(户口|户籍|[省市县区]?人$|的$)", t):
            return None
    return ref.code


HUKOU_SLOTS = ("elig_hukou", "fun_hukou")


def _yes_no(text: str) -> Optional[bool]:
    """Yes or no from a short answer; questions and "不清楚" are neither."""
    t = compact(text)
    if not t or parse.is_question(text) or SKIP_WORDS.match(t) or re.search(r"(不清楚|不知道|不确定|说不好)", t):
        return None
    return elig.parse_yes_no(t)


def _hukou_answer(ctx: Guided, text: str, state: Dict[str, Any]) -> Optional[bool]:
    """Answer to "是X户籍吗": a place named decides when it clearly can (the case's own
    region or a part of it → yes unless denied; another province → no)."""
    yn = _yes_no(text)
    ref = ctx.assistant.catalog.find_region(text)
    region = state.get(REGION)
    if ref is None or not region:
        return yn
    index = ctx.assistant.catalog.region_index()
    named = [r.code for r in index.chain(ref.code)]
    home = [r.code for r in index.chain(region)]
    if ref.code in home or region in named:
        return False if yn is False else True
    if named and home and named[-1] != home[-1]:  # different provinces
        return False
    return yn if re.match(r"^(是|不是|对|不对|没|否)", compact(text)) else None


YES_NO_BUTTONS = [Button("是", "是"), Button("不是", "不是"), Button("不清楚", "不清楚")]


def region_buttons() -> List[Button]:
    return [Button(c, c) for c in SAMPLE_CITIES] + [Button("跳过", "跳过")]


# =============================================================================== eligibility


class EligibilityForm(GuidedForm):
    name = "eligibility_form"
    intent = "check_eligibility"
    title = "养老补贴测算"
    slots = ("elig_age", "elig_hukou", "elig_economic", "elig_care", "elig_care_assessed")
    optional = (REGION, "elig_hukou", "elig_economic", "elig_care")

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
        region = _region_in(self.ctx, text, state, requested)
        if region is not None:
            out[REGION] = region
        economic = elig.parse_economic(text) if requested == "elig_economic" else _explicit_economic(text)
        if economic:
            out["elig_economic"] = economic
        level, needs = elig.care_level_from_text(text)
        if level:
            out["elig_care"] = level
            out["elig_care_assessed"] = not needs
        if requested == "elig_hukou" or re.search(r"(户口|户籍)", t):
            yes = _hukou_answer(self.ctx, text, {**state, **out})
            if yes is not None and not (requested != "elig_hukou" and "elig_economic" in out):
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
            return text_reply(elig.QUESTIONS["region"], region_buttons(), kind="form_question")
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
        buttons = [Button(b.name, f"/{b.code.replace('.', '_', 1)}") for b in result.granted
                   if self.ctx.assistant.catalog.service(b.code)][:3]
        buttons += [Button("重新测算", "/check_eligibility"), Button("转人工", "/human_handoff")]
        return Outcome(text_reply(text, buttons, kind="eligibility_result"), {AGE: state.get("elig_age")})


def _explicit_economic(text: str) -> Optional[str]:
    """Economic status named outright ("他是低保户"), outside its own question."""
    value = elig.parse_economic(text)
    return value if value and value != "none" else None


# =============================================================================== funeral


class FuneralForm(GuidedForm):
    name = "funeral_form"
    intent = "make_checklist"
    title = "身后事清单"
    slots = ("fun_place", "fun_natural", "fun_hukou", "fun_pension", "fun_low_income")
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
        elif requested == "fun_natural":
            yes = _yes_no(text)
            if yes is not None:
                out["fun_natural"] = yes
        region = _region_in(self.ctx, text, state, requested)
        if region is not None:
            out[REGION] = region
        pension = fc.parse_pension(text)
        if pension and (requested == "fun_pension" or pension != "none"):
            out["fun_pension"] = pension
        economic = elig.parse_economic(text)
        if economic in ("dibao", "tekun", "low_income"):
            out["fun_low_income"] = True
        elif requested == "fun_low_income":
            yes = _yes_no(text) if economic is None else False
            if yes is not None:
                out["fun_low_income"] = yes
        if requested == "fun_hukou" or re.search(r"(户口|户籍)", t):
            yes = _hukou_answer(self.ctx, text, {**state, **out})
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
            return text_reply(fc.QUESTIONS["region"], region_buttons(), kind="form_question")
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


# =============================================================================== status lookup


class StatusForm(GuidedForm):
    name = "status_form"
    intent = "check_status"
    title = "办件进度查询"
    slots = ("status_number", "status_last4")
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


# =============================================================================== booking

KINDS = {"marriage": "结婚登记", "divorce": "离婚登记"}


def _kind_from(text: str) -> Optional[str]:
    t = compact(text)
    if "离婚" in t:
        return "divorce"
    if re.search(r"(结婚|领证|扯证)", t):
        return "marriage"
    return None


def _kind_any(text: str) -> Optional[str]:
    return "marriage" if "婚姻登记" in compact(text) or "结婚" in compact(text) else None


def _day_label(d: DayView) -> str:
    label = format_day(d.day).split("年", 1)[1]
    if d.label:
        label += f" {d.label}"
    return label


def free_slots(svc: BookingService, office: str, kind: str, day: date) -> List:
    """The day's slots with a free place (empty when closed or full)."""
    view = svc.day(office, kind, day)
    return [s for s in (view.slots if view else []) if s.free > 0]


def day_choice(heading: str, days: List[DayView], footer: str = "") -> Reply:
    lines = [heading] + [f"· {_day_label(d)}（余{d.free}个名额）" for d in days] + ([footer] if footer else [])
    return text_reply("\n".join(lines), [Button(_day_label(d), _day_label(d).split(" ")[0]) for d in days],
                      kind="form_question")


def slot_choice(day: date, free: List, footer: str = "") -> Reply:
    lines = [f"{format_day(day)}可以预约的时段："] + [f"· {s.start}-{s.end}（余{s.free}个名额）" for s in free]
    lines += [footer] if footer else []
    return text_reply("\n".join(lines), [Button(f"{s.start}-{s.end}（余{s.free}）", s.start) for s in free],
                      kind="form_question")


def day_problem(svc: BookingService, office: Optional[str], kind: Optional[str], day: date) -> Optional[str]:
    """Why ``day`` cannot be booked at the office (None when it can)."""
    if not office or not kind:
        return None
    if day <= svc.today():
        return "只能预约明天及以后的日期。"
    if day not in svc.bookable_days(office):
        return "这一天超出了可以预约的范围（最多提前30天）。"
    view = svc.day(office, kind, day)
    if view is None or not view.slots:
        return f"{format_day(day)}登记处不办公（周末或法定节假日）。"
    if view.free <= 0:
        return f"{format_day(day)}已经约满了。"
    return None


class BookingForm(GuidedForm):
    name = "booking_form"
    intent = "book_appointment"
    title = "婚姻登记预约"
    slots = ("book_kind", "book_office", "book_groom_birth", "book_bride_birth", "book_day", "book_time",
             "book_name", "book_phone", "book_confirm")
    personal = ("book_groom_birth", "book_bride_birth", "book_name", "book_phone")

    # -- helpers --
    def offices(self, region_code: Optional[str], kind: Optional[str]) -> List[Tuple[str, str]]:
        """(code, name) of the offices with a schedule in the region's city, the region's own first."""
        if not region_code:
            return []
        cat = self.ctx.assistant.catalog
        index = cat.region_index()
        city = index.city_of(region_code)
        if city is None:
            return []
        out = []
        for code, sched in self.ctx.schedules().items():
            if kind and kind not in sched.kinds:
                continue
            info = cat.office(code)
            if info is None or not info.region_code:
                continue
            if index.city_of(info.region_code) and index.city_of(info.region_code).code == city.code:
                own = info.region_code == region_code
                out.append((0 if own else 1, code, info.name))
        return [(c, n) for _, c, n in sorted(out)]

    def days(self, state) -> List[DayView]:
        return self.ctx.booking().availability(state["book_office"], state["book_kind"], days=6)

    def slots_of(self, state) -> List:
        return free_slots(self.ctx.booking(), state["book_office"], state["book_kind"],
                          date.fromisoformat(state["book_day"]))

    def party(self, value: Optional[str], sex: str) -> Optional[Party]:
        if not value:
            return None
        if value.startswith("age:"):
            return Party(sex, age=int(value[4:]))
        return Party(sex, birth_date=date.fromisoformat(value))

    def precheck(self, state):
        return precheck(self.party(state.get("book_groom_birth"), "male") or Party("male"),
                        self.party(state.get("book_bride_birth"), "female") or Party("female"), on=self.ctx.today())

    # -- form --
    def extract(self, text, state, requested):
        out: Dict[str, Any] = {}
        t = compact(text)
        if not t:
            return out
        kind = _kind_from(text) or (_kind_any(text) if requested == "book_kind" else None)
        if kind and (requested in (None, "book_kind") or kind != state.get("book_kind")):
            if kind != state.get("book_kind") and requested is not None:
                out.update({"book_office": None, "book_day": None, "book_time": None})
            out["book_kind"] = kind
        region = self.ctx.assistant.catalog.find_region(text)
        if region is not None and requested in (None, REGION, "book_office"):
            out[REGION] = region.code
        kind_now = out.get("book_kind") or state.get("book_kind")
        if requested == "book_office" or requested is None:
            options = self.offices(out.get(REGION) or state.get(REGION), kind_now)
            pick = parse.choose(text, [n for _, n in options]) if options else None
            if pick is not None:
                out["book_office"] = options[pick][0]
        if requested in ("book_groom_birth", "book_bride_birth"):
            value = self._birth(text)
            if value:
                out[requested] = value
        d = parse.parse_day(text, self.ctx.today())
        if requested in ("book_day", "book_time", "book_confirm") and d is not None:
            problem = day_problem(self.ctx.booking(), state.get("book_office"), state.get("book_kind"), d)
            if problem:
                out["_hint"] = problem
            else:
                out["book_day"] = d.isoformat()
                if requested != "book_day":
                    out["book_time"] = None
                    out["book_confirm"] = None
        if requested == "book_time" or (requested == "book_confirm" and "book_day" not in out):
            if state.get("book_day") and state.get("book_office"):
                spans = [(s.start, s.end) for s in self.slots_of({**state, **out})]
                start = parse.parse_time(text, spans)
                if start:
                    out["book_time"] = start
                    out["book_confirm"] = None
                elif requested == "book_time" and re.search(r"[0-9一二两三四五六七八九十]\s*[点:：]", t):
                    out["_hint"] = "这个时间不在开放的时段里（或已约满）。"
        if requested == "book_name":
            name = parse.parse_name(text)
            if name:
                out["book_name"] = name
        phone = parse.parse_phone(text)
        if phone and requested in ("book_phone", "book_name", "book_confirm"):
            out["book_phone"] = phone
            if requested == "book_confirm":
                out["book_confirm"] = None
        if requested == "book_confirm" and not [k for k in out if not k.startswith("_")]:
            yes = parse.parse_confirm(text)
            if yes is True:
                out["book_confirm"] = True
            elif yes is False:
                out.update({"book_day": None, "book_time": None, "book_confirm": None})
        return out

    def _birth(self, text: str) -> Optional[str]:
        born = parse.parse_birth_date(text, self.ctx.today())
        if born:
            return born.isoformat()
        m = re.search(r"([0-9]{2})\s*(周岁|岁)", compact(text))
        if m and 14 <= int(m.group(1)) <= 100:
            return f"age:{int(m.group(1))}"
        return None

    def next_slot(self, state):
        if not state.get("book_kind"):
            return "book_kind"
        if not state.get(REGION):
            return REGION
        if not state.get("book_office"):
            return "book_office"
        if state["book_kind"] == "marriage":
            for slot in ("book_groom_birth", "book_bride_birth"):
                if not state.get(slot):
                    return slot
            if not self.precheck(state).ok:
                return None
        for slot in ("book_day", "book_time", "book_name", "book_phone"):
            if not state.get(slot):
                return slot
        if state.get("book_confirm") is not True:
            return "book_confirm"
        return None

    def question(self, slot, state):
        kind = KINDS.get(state.get("book_kind") or "", "婚姻登记")
        if slot == "book_kind":
            return text_reply("好的，帮您预约婚姻登记（随时说“算了”可以退出）。请问要预约结婚登记还是离婚登记？",
                              [Button("结婚登记", "结婚登记"), Button("离婚登记", "离婚登记")], kind="form_question")
        if slot == REGION:
            return text_reply(f"预约{kind}：请问您想在哪个城市或区县办理？",
                              [Button(c, c) for c in SAMPLE_CITIES], kind="form_question")
        if slot == "book_office":
            options = self.offices(state.get(REGION), state.get("book_kind"))
            if not options:
                name = self.ctx.assistant.catalog.region_index().full_name(state[REGION])
                return text_reply(f"抱歉，{name}的婚姻登记处暂未开通在这里预约。您可以换一个城市，"
                                  f"或拨打 {self.ctx.assistant.catalog.hotline_for(state.get(REGION))} 咨询。\n"
                                  "请问在哪个城市办理？", [Button(c, c) for c in SAMPLE_CITIES], kind="form_question")
            lines = ["请选择婚姻登记处："] + [f"{i + 1}. {n}" for i, (_, n) in enumerate(options)]
            return text_reply("\n".join(lines), [Button(n, n) for _, n in options], kind="form_question")
        if slot == "book_groom_birth":
            return text_reply("先做个预检。请告诉我男方的出生日期（例如 1998年3月2日；只说周岁也可以）。",
                              kind="form_question")
        if slot == "book_bride_birth":
            return text_reply("女方的出生日期呢？", kind="form_question")
        if slot == "book_day":
            days = self.days(state)
            office = self.ctx.assistant.catalog.office(state["book_office"])
            if not days:
                where = office.name if office else "该登记处"
                return text_reply(f"抱歉，{where}近期的预约都已约满。您可以换一个登记处，"
                                  "或过几天再来看看。请选择其他登记处，或说“算了”。", kind="form_question")
            return day_choice(f"{office.name if office else ''}近期可以预约的日期：", days,
                              "请选择日期，也可以直接说“下周三”“11月30日”。")
        if slot == "book_time":
            free = self.slots_of(state)
            day = date.fromisoformat(state["book_day"])
            if not free:
                return text_reply(f"{format_day(day)}已经约满了，请换一天。", kind="form_question")
            return slot_choice(day, free, "请选择时段，也可以直接说“上午”“下午两点”。")
        if slot == "book_name":
            return text_reply("请告诉我预约人的姓名（双方中的一位）。", kind="form_question")
        if slot == "book_phone":
            return text_reply("请留一个手机号码，查询、改约或取消预约时要用到它的后四位。", kind="form_question")
        office = self.ctx.assistant.catalog.office(state["book_office"])
        day = date.fromisoformat(state["book_day"])
        end = next((s.end for s in self.slots_of(state) if s.start == state["book_time"]), "")
        text = (f"请核对预约信息：\n· 业务：{kind}\n· 登记处：{office.name if office else state['book_office']}\n"
                f"· 时间：{format_day(day)} {state['book_time']}-{end}\n· 预约人：{state['book_name']}\n"
                f"· 手机：{state['book_phone']}\n确认预约吗？")
        return text_reply(text, [Button("确认预约", "确认"), Button("改时间", "改时间")], kind="form_question")

    def hint(self, slot, state):
        return {
            "book_kind": "请选择结婚登记或离婚登记。",
            REGION: "抱歉，我没能识别出这个地区。",
            "book_office": "请从下面的登记处中选一个。",
            "book_groom_birth": "抱歉，没看懂日期，请按“1998年3月2日”的格式告诉我。",
            "book_bride_birth": "抱歉，没看懂日期，请按“2000年5月1日”的格式告诉我。",
            "book_day": "抱歉，这一天不能预约或没看懂日期，请从下面选一天。",
            "book_time": "请从下面的时段中选一个。",
            "book_name": "请只回复姓名，例如“张三”。",
            "book_phone": "请回复11位手机号码。",
            "book_confirm": "请回复“确认”，或说“改时间”重新选择。",
        }.get(slot, super().hint(slot, state))

    def complete(self, state):
        kind = state.get("book_kind")
        if kind == "marriage" and state.get("book_groom_birth") and state.get("book_bride_birth"):
            pre = self.precheck(state)
            if not pre.ok:
                text = "预检没有通过，暂时不能预约结婚登记：\n" + "\n".join("· " + p for p in pre.problems)
                text += "\n依据：《民法典》第1047条（结婚年龄，男不得早于22周岁，女不得早于20周岁）。"
                return Outcome(text_reply(text, [Button("结婚登记须知", "/marriage_register")], kind="precheck_failed"))
        if state.get("book_confirm") is not True:
            return Outcome(text_reply("预约没有完成。需要时说“预约结婚登记”重新开始。", kind="booking_incomplete"))
        day = date.fromisoformat(state["book_day"])
        result = self.ctx.booking().book(state["book_office"], kind, day, state["book_time"], state["book_name"],
                                         state["book_phone"])
        if not result.ok:
            if result.reason in ("full", "closed", "out_of_range"):
                return Outcome(text_reply("抱歉，这个时段刚刚约满（或不再开放），请重新选择日期和时段。",
                                          kind="booking_full"),
                               {**{s: state.get(s) for s in self.slots}, "book_day": None, "book_time": None,
                                "book_confirm": None, RESUME: self.name}, followup="booking_form")
            return Outcome(text_reply("抱歉，预约暂时没有成功，请稍后再试，或拨打 "
                                      f"{self.ctx.assistant.catalog.hotline_for(state.get(REGION))}。",
                                      kind="booking_failed"))
        b = result.booking
        office = self.ctx.assistant.catalog.office(b.office)
        lines = [f"预约成功！确认码：{b.code}",
                 f"· 业务：{KINDS[b.kind]}",
                 f"· 时间：{format_day(b.day)} {b.start}-{b.end}",
                 f"· 登记处：{office.name if office else b.office}"]
        if office:
            lines.append(f"· 地址：{office.address}")
            if office.phone:
                lines.append(f"· 电话：{office.phone}")
        lines.append(f"· 预约人：{b.name}（{b.phone}）")
        lines.append("查询、改约或取消：告诉我“查询预约”，再提供确认码和手机后四位。")
        if kind == "marriage":
            pre = self.precheck(state)
            lines.append("请带好：")
            lines += ["· " + m for m in pre.materials]
            lines += [n for n in pre.notes if not n.startswith("请确认")]
        else:
            tl = divorce_timeline(b.day)
            lines.append("请带好：双方的居民身份证、结婚证和双方签名的离婚协议书；双方须本人到场。")
            lines.append(f"如果{format_day(b.day)}受理，离婚冷静期到{format_day(tl.cooling_off.end)}为止，期间任何一方都可以撤回申请；"
                         f"冷静期满后，双方须在{format_day(tl.collection.end)}前一起到登记处申请发给离婚证，否则视为撤回申请"
                         "（《民法典》第1077条）。")
            if not tl.schedule_known:
                lines.append("（节假日安排尚未公布，以上日期可能顺延，以登记处告知为准。）")
        if b.sample:
            lines.append("提示：登记处的预约名额是示例数据，实际开放的时段请以登记处公布为准。")
        return Outcome(text_reply("\n".join(lines), [Button("查询预约", "/manage_booking")], kind="booking_done",
                                  service="marriage.register" if kind == "marriage" else "marriage.divorce"))


# =============================================================================== manage booking


class ManageBookingForm(GuidedForm):
    name = "manage_booking_form"
    intent = "manage_booking"
    title = "预约查询"
    slots = ("mb_code", "mb_last4", "mb_op", "mb_day", "mb_time", "mb_confirm")

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


# =============================================================================== context

FORMS = (EligibilityForm, FuneralForm, StatusForm, BookingForm, ManageBookingForm)


class Guided:
    """What the forms need: the assistant (catalogue), rules, booking and status services."""

    def __init__(self, assistant: Assistant, db_url: str, today: Callable[[], date] = date.today):
        self.assistant = assistant
        self.db_url = db_url
        self.today = today
        self._elig = None
        self._funeral = None
        self._schedules = None

    def parents(self, code: str) -> List[str]:
        return [r.code for r in self.assistant.catalog.region_index().chain(code)]

    def eligibility_rules(self):
        if self._elig is None:
            self._elig = elig.load_rules()
        return self._elig

    def funeral_rules(self):
        if self._funeral is None:
            self._funeral = fc.load_rules()
        return self._funeral

    def schedules(self):
        if self._schedules is None:
            self._schedules = load_schedules()
        return self._schedules

    def booking(self) -> BookingService:
        return BookingService(self.db_url, self.schedules(), today=self.today)

    def status(self) -> StatusLookup:
        return StatusLookup(self.db_url)

    def form(self, name: str) -> GuidedForm:
        for cls in FORMS:
            if cls.name == name:
                return cls(self)
        raise KeyError(name)


# =============================================================================== for staff

_YES_NO = {True: "是", False: "否"}
_PLACE_LABELS = {"hospital": "医院", "home": "家中", "care_home": "养老机构", "elsewhere": "其他地方"}
_PENSION_LABELS = {"employee": "职工养老保险", "resident": "城乡居民养老保险", "none": "未参保"}
_OP_LABELS = {"view": "查看", "cancel": "取消", "reschedule": "改约"}
FORM_TITLES = {cls.name: cls.title for cls in FORMS}


def describe_answers(understood: Dict[str, Any], office_name: Callable[[str], Optional[str]] = lambda c: None
                     ) -> List[str]:
    """The form answers a handoff carries, as "label：value" lines for the staff console."""
    u = understood
    out: List[str] = []
    if u.get("form") in FORM_TITLES:
        out.append(f"转人工时在办：{FORM_TITLES[u['form']]}")
    if u.get("elig_age") is not None:
        out.append(f"老人年龄：{int(u['elig_age'])}岁")
    for key, label in (("elig_hukou", "老人本地户籍"), ("fun_hukou", "逝者本地户籍"), ("fun_natural", "正常死亡")):
        if u.get(key) in _YES_NO:
            out.append(f"{label}：{_YES_NO[u[key]]}")
    if u.get("elig_economic") in elig.ECONOMIC_LABELS:
        out.append(f"经济状况：{elig.ECONOMIC_LABELS[u['elig_economic']]}")
    if u.get("elig_care") in elig.CARE_LABELS:
        out.append(f"失能程度：{elig.CARE_LABELS[u['elig_care']]}")
    if u.get("fun_place") in _PLACE_LABELS:
        out.append(f"去世地点：{_PLACE_LABELS[u['fun_place']]}")
    if u.get("fun_pension") in _PENSION_LABELS:
        out.append(f"养老保险：{_PENSION_LABELS[u['fun_pension']]}")
    if u.get("fun_done"):
        out.append("清单已办：第" + "、".join(str(n) for n in u["fun_done"]) + "步")
    if u.get("book_kind") in KINDS:
        out.append(f"预约业务：{KINDS[u['book_kind']]}")
    if u.get("book_office"):
        out.append(f"登记处：{office_name(u['book_office']) or u['book_office']}")
    if u.get("book_day"):
        out.append(f"预约日期：{u['book_day']} {u.get('book_time') or ''}".rstrip())
    if u.get("mb_op") in _OP_LABELS:
        out.append(f"预约操作：{_OP_LABELS[u['mb_op']]}")
    return out
