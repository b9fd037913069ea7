"""The guided-form engine: what to ask next, how to read the answers, what to answer at the end.

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
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from markupsafe import escape

from .. import eligibility as elig
from ..assistant import Button, Reply, SAMPLE_CITIES
from ..normalize import compact
from . import parse

if TYPE_CHECKING:
    from .context import Guided

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
                return Turn(updates, prefixed(q, hint + "\n"), requested)
        nxt = self.next_slot(state)
        updates[RETRY] = None
        if nxt is None:
            return Turn(updates, None, None)
        if hint_override and nxt == requested:
            prefix = hint_override + "\n" + prefix
        return Turn(updates, prefixed(self.question(nxt, state), prefix), nxt)

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


def prefixed(reply: Reply, prefix: str) -> Reply:
    if not prefix:
        return reply
    return Reply(prefix + reply.text, str(escape(prefix)) + reply.html, reply.buttons, reply.service, reply.kind)


def region_in(ctx: Guided, text: str, state: Dict[str, Any], requested: Optional[str] = None) -> Optional[str]:
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


def yes_no(text: str) -> Optional[bool]:
    """Yes or no from a short answer; questions and "不清楚" are neither."""
    t = compact(text)
    if not t or parse.is_question(text) or SKIP_WORDS.match(t) or re.search(r"(不清楚|不知道|不确定|说不好)", t):
        return None
    return elig.parse_yes_no(t)


def hukou_answer(ctx: Guided, text: str, state: Dict[str, Any]) -> Optional[bool]:
    """Answer to "是X户籍吗": a place named decides when it clearly can (the case's own
    region or a part of it → yes unless denied; another province → no)."""
    yn = yes_no(text)
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
