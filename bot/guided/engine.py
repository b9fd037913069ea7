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

import yaml
from markupsafe import escape

from .. import eligibility as elig
from ..assistant import Button, Reply, intent_for
from ..config import CONTENT_DIR
from ..normalize import compact, has_meaningful_text
from . import parse, questions

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



def _service_intents() -> frozenset:
    """One intent per catalogue service (the code with "_" for "."), read from the content
    files, so that a new service needs no edit here."""
    codes = set()
    for path in sorted((CONTENT_DIR / "services").glob("*.yml")):
        for svc in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("services") or []:
            codes.add(intent_for(svc["code"]))
    return frozenset(codes)


SERVICE_INTENTS = _service_intents()
GUIDED_INTENTS = {
    "check_eligibility": "eligibility_form",
    "make_checklist": "funeral_form",
    "book_appointment": "booking_form",
    "manage_booking": "manage_booking_form",
    "check_status": "status_form",
}
SWITCH_INTENTS = SERVICE_INTENTS | set(GUIDED_INTENTS) | {"ask_capabilities", "other_question"}
SKIP_WORDS = re.compile(r"^(跳过|略过|不知道|不清楚|不确定|不记得|记不清|说不好|不好说|下一个|先跳过|不方便说)")
# "不太清楚" / "我也不知道啊" / "不確定" (Traditional is folded by normalize): not knowing is an answer
DONT_KNOW = re.compile(r"(不知道|不清楚|不确定|不记得|记不清|记不得|说不好|不好说|不晓得|不了解|搞不清|弄不清|没数|"
                       r"忘了|忘记了|不懂|不大清楚|不太清楚|不太确定|不太知道|不清|跳过|略过|下一个|不方便说|不想说)")
STOP_WORDS = re.compile(r"^(算了|不办了|不弄了|不测了|不算了|不约了|不查了|不预约了|退出|不想办了|不用了|先不办了|"
                        r"不需要了|停|结束|取消吧)")
HANDOFF_WORDS = re.compile(r"(转人工|人工客服|找人工|人工服务|真人|找工作人员|人工)")
# a correction of an earlier answer ("不对，老人是92岁"): not a "no" to the question asked
CORRECTION = re.compile(r"^(不对|不是的?[，,]|错了|说错了|更正|纠正|改一下|我说错)")
GUIDED_SWITCH_CONFIDENCE = 0.9  # a statement asking for another guided task outright ("帮我查办件进度")
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
    t = compact(message.text)
    if is_dont_know(message.text or "") and not STOP_WORDS.match(t):
        return None  # "不记得了" answers the question (NLU may take it for a stop)
    if intent == "stop" and (not understood or conf >= STOP_CONFIDENCE):
        return "stop"
    if intent == "human_handoff" and (not understood or conf >= STOP_CONFIDENCE):
        return "handoff"
    if not understood and len(t) <= 12 and HANDOFF_WORDS.search(t):
        return "handoff"
    if not understood and STOP_WORDS.match(t):
        return "stop"
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

    # -- hooks for the deviations real people make (override per form) -------------------
    related: Tuple[str, ...] = ()  # service intents whose questions are answered inside this form
    resume_words = "继续"  # what the citizen can say to come back to a form left for another question

    def examples(self, slot: str, state: Dict[str, Any]) -> str:
        """What an answer to ``slot`` looks like, for the second miss."""
        return ""

    def dont_know(self, slot: str, state: Dict[str, Any]) -> Tuple[str, Dict[str, Any]]:
        """What happens when the citizen does not know the answer to ``slot``: the words
        to say and the slot values to set (an assumption, or nothing). Optional questions
        are skipped by default; required ones say how to find out."""
        if slot in self.optional:
            return "没关系，这个问题先跳过，结果里会说明需要确认什么。", {}
        return "这一项办理需要用到。", {}

    # statements that answer no question of the form ("她一个人住"): (pattern, acknowledgement)
    acknowledgements: Tuple[Tuple[str, str], ...] = ()

    def acknowledge(self, text: str, state: Dict[str, Any]) -> Optional[str]:
        """A reply to a statement that answers no question of the form, or None."""
        t = compact(text)
        return next((said for pattern, said in self.acknowledgements if re.search(pattern, t)), None)

    # -- the engine ------------------------------------------------------------------
    personal: Tuple[str, ...] = ()  # never kept once the form has ended, whatever the ending

    def clear(self) -> Dict[str, Any]:
        return {**{s: None for s in self.slots}, SKIPPED: None, RETRY: None}

    def skipped(self, state: Dict[str, Any]) -> List[str]:
        return list(state.get(SKIPPED) or [])

    def misses(self, state: Dict[str, Any], slot: Optional[str]) -> int:
        value = str(state.get(RETRY) or "")
        name, _, n = value.partition("#")
        return (int(n) if n.isdigit() else 1) if slot and name == slot else 0

    def turn(self, message: Message, state: Dict[str, Any]) -> Turn:
        """One citizen message (see ``_turn``). Every turn sets a slot: Rasa rejects a
        form turn that validates none and hands the message to the rules instead (a
        clarifying question in the middle of the form)."""
        out = self._turn(message, state)
        if not any(k != "requested_slot" and not k.startswith("_") for k in out.updates):
            out.updates[RETRY] = state.get(RETRY)
        return out

    def _turn(self, message: Message, state: Dict[str, Any]) -> Turn:
        """One citizen message. ``state["_starting"]`` (set by the Rasa adapter: the
        form is not active yet) marks the first turn; without it, a turn with no
        requested slot is the first."""
        state = dict(state)
        requested = state.get("requested_slot")
        starting = bool(state["_starting"]) if "_starting" in state else requested is None
        updates: Dict[str, Any] = {}
        prefix = ""
        if starting:
            requested = None
            # a form left unfinished by a long pause (a new session carries the slots over,
            # not the form) is running still in form_last with a question pending
            interrupted = state.get(LAST) == self.name and bool(state.get("requested_slot")) and self.progress(state)
            if state.get(RESUME) == self.name or interrupted:  # reopened: by its own submit, or to come back
                updates[RESUME] = None
                if state.get(LAST) == self.name:
                    prefix = f"好的，我们接着刚才的{self.title}，您前面的回答都还在。\n"
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
        t = compact(text)
        question = bool(t) and parse.is_question(text)
        if not starting and question and confident_switch(message, self.intent):
            extracted: Dict[str, Any] = {}  # "低保怎么申请" asks about 低保; it does not answer
        else:
            extracted = self.extract(text, state, requested)
        hint_override = extracted.pop("_hint", None)
        note = extracted.pop("_note", None)  # what the form did with the answer ("已为您选好…")
        understood = bool(extracted)
        if not starting:
            reason = exit_reason(message, understood, self.intent)
            if reason == "stop" and requested in extracted:
                reason = None  # "不是" answering a yes/no question, even if NLU leans to stop
            if reason == "switch" and not self.leaves_for(message, question):
                reason = None  # a statement, or a question this form answers itself
            if reason:
                return self.leave(reason, state)
        if not starting and not understood and t and question:
            # a question inside the form: its answer, then the question pending
            answer = questions.answer(self.ctx, text, message.intent, self.related, state.get(REGION))
            if answer:
                q = self.question(requested, state) if requested else None
                if q is not None:
                    return Turn({RETRY: state.get(RETRY)}, prefixed(q, answer + "\n\n我们继续：\n"), requested)
        updates.update(extracted)
        state.update(extracted)
        if requested and requested not in extracted and not starting:
            miss = self.missed(message, requested, state, understood, hint_override)
            if miss is not None:
                updates.update(miss.updates)
                state.update(miss.updates)
                if miss.reply is not None or miss.requested is None:
                    return Turn(updates, miss.reply, miss.requested, exit=miss.exit)
                prefix += miss.exit or ""  # the words said on skipping; the form goes on
        if note:
            prefix = note + "\n" + prefix
        nxt = self.next_slot(state)
        updates[RETRY] = None
        if nxt is None:
            return Turn(updates, None, None)
        if hint_override and nxt == requested:
            prefix = hint_override + "\n" + prefix
        return Turn(updates, prefixed(self.question(nxt, state), prefix), nxt)

    def leaves_for(self, message: Message, question: bool) -> bool:
        """A message NLU places elsewhere ends the form only when it is plainly a new
        request: a question about a service this form does not cover, or another guided
        task asked for outright."""
        if message.intent in GUIDED_INTENTS:
            return (message.confidence or 0.0) >= GUIDED_SWITCH_CONFIDENCE or question
        if not question:
            return False
        return message.intent not in self.related

    def leave(self, reason: str, state: Dict[str, Any]) -> Turn:
        out: Dict[str, Any] = {EXIT: reason}
        if reason == "handoff":  # staff see the answers given so far, not the personal ones
            out.update({s: None for s in self.personal})
        elif reason == "switch" and self.progress(state):
            # a half-finished form is kept: the answer to the other question offers to come back
            out.update({RESUME: self.name, RETRY: None})
        else:
            out.update(self.clear())
        return Turn(out, None, None, exit=reason)

    def progress(self, state: Dict[str, Any]) -> bool:
        """Something worth keeping has been answered (a switch keeps it)."""
        return any(state.get(s) not in (None, [], "") for s in self.slots if s not in self.personal)

    def missed(self, message: Message, requested: str, state: Dict[str, Any], understood: bool,
               hint_override: Optional[str]) -> Optional[Turn]:
        """The message did not answer the question asked. Returns the turn to answer
        with (``reply`` set), a skip (``reply`` None, ``requested`` set, ``exit`` carrying
        the words to prefix), or None when the form simply goes on (another field was
        answered)."""
        text = message.text or ""
        t = compact(text)
        if not t or not has_meaningful_text(text):
            q = self.question(requested, state)
            return Turn({}, prefixed(q, "没有收到文字内容。我们继续：\n"), requested)
        dont_know = message.intent == "skip" or is_dont_know(text)
        if dont_know:
            words, assumed = self.dont_know(requested, state)
            if requested in self.optional or assumed:
                skipped = self.skipped(state) + [requested]  # the result says what was assumed
                return Turn({SKIPPED: skipped, **assumed, RETRY: None}, None, requested, exit=words + "\n")
        if understood and not hint_override:  # another question of the form was answered: go on
            return Turn({}, None, requested, exit="好的，记下了。\n")
        ack = None if dont_know or hint_override else self.acknowledge(text, state)
        n = self.misses(state, requested) + 1
        if requested in self.optional and n >= 2:
            skipped = self.skipped(state) + [requested]
            return Turn({SKIPPED: skipped, RETRY: None}, None, requested, exit="这个问题先跳过。\n")
        q = self.question(requested, state)
        if dont_know:
            hint = self.dont_know(requested, state)[0]
            if message.intent == "skip" or re.search(r"(跳过|略过|下一个|不想说|不方便说)", t):
                hint = "这一项是必填的，办理需要用到。" + ("" if hint.startswith("这一项") else hint)
        elif ack:
            hint = ack + "\n这个问题还需要您回答一下："
        else:
            hint = hint_override or self.hint(requested, state)
        if n == 1:
            return Turn({RETRY: requested}, prefixed(q, hint + "\n"), requested)
        if n == 2:
            examples = self.examples(requested, state)
            lines = [hint if (dont_know or ack or hint_override) else "抱歉，我还是没能看懂。", q.text]
            if examples:
                lines.append("可以这样回答：" + examples)
            lines.append("不想继续的话可以说“算了”；也可以说“转人工”，让工作人员帮您。")
            buttons = list(q.buttons) + [Button("算了", "算了"), Button("转人工", "/human_handoff")]
            return Turn({RETRY: f"{requested}#2"}, text_reply("\n".join(lines), buttons, kind="form_help"),
                        requested)
        # a third miss: not the same question again, a person who can help
        updates = {EXIT: "handoff", RETRY: None, **{s: None for s in self.personal}}
        return Turn(updates, text_reply("抱歉，这一步我没能帮上忙。我请工作人员来帮您，"
                                        "您前面的回答他们都能看到。", kind="form_handoff"), None, exit="handoff")

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
            if state.get(RESUME) == self.name:  # kept: say so, and offer to come back
                words = (f"好的，先回答您的新问题。刚才的{self.title}还没做完，您的回答我先记着；"
                         f"要继续的话，点“继续{self.title}”或者说“{self.resume_words}”。")
                return Outcome(text_reply(words, [Button(f"继续{self.title}", f"/{self.intent}")],
                                          kind="form_paused"),
                               {**ended, EXIT: None, LAST: self.name}, followup="action_after_form_switch")
            return Outcome(None, {**self.clear(), **ended}, followup="action_after_form_switch")
        outcome = self.complete(state)
        outcome.updates = {**self.clear(), **ended, **outcome.updates}
        return outcome


def is_dont_know(text: str) -> bool:
    """"不知道" / "不太清楚" / "我也说不好": a short answer saying the citizen does not know."""
    t = compact(text)
    return bool(t) and len(t) <= 16 and bool(DONT_KNOW.search(t)) and not re.search(r"(怎么|如何|哪里|什么)", t)


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


def region_buttons(assistant) -> List[Button]:
    """The catalogue's featured cities, then 跳过."""
    return [Button(c, c) for c in assistant.city_names()] + [Button("跳过", "跳过")]
