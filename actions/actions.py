"""Custom actions. Each one reads slots and the latest message, asks
``bot.assistant`` for a reply and dispatches it; no business rules live here."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import channels
from bot.ages import parse_age
from bot.funeral_checklist import parse_progress
from bot.guided.parse import asks_progress, guided_route
from bot.assistant import (
    Assistant, Reply, fallback_candidates, full_guide_payload, section_request, service_for_intent,
)
from bot.review import LOW_CONFIDENCE

from . import backend

SERVICE_SLOT = "service"
REGION_SLOT = "region"
AGE_SLOT = "age"
AWAITING_SLOT = "awaiting_region"
ASKED_SLOT = "region_asked"
OFFICE_SLOT = "office"


def dispatch(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    dispatcher.utter_message(
        text=reply.text,
        buttons=[b.as_dict() for b in reply.buttons],
        json_message=reply.custom(),
    )


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def entity_values(tracker: Tracker, entity: str) -> List[str]:
    return [str(v) for v in tracker.get_latest_entity_values(entity) if v]


def pending_question(tracker: Tracker) -> str:
    """The citizen's last typed message before this one (the question a city answer completes)."""
    current = latest_text(tracker)
    seen_current = False
    for event in reversed(tracker.events or []):
        if event.get("event") != "user":
            continue
        text = event.get("text") or ""
        if not seen_current and text == current:
            seen_current = True
            continue
        if text and not text.startswith("/"):
            return text
    return ""


def section_followup(tracker: Tracker) -> List[Dict[str, Any]]:
    """The 政策依据 / 完整指南 button words, whatever intent NLU gave them: the section action."""
    if tracker.get_slot(SERVICE_SLOT) and section_request(latest_text(tracker)):
        return [FollowupAction("action_service_section")]
    return []


def resolve_region(a: Assistant, tracker: Tracker) -> Optional[str]:
    """Region named in this message (entity first, then the whole text), else None."""
    for value in entity_values(tracker, "region"):
        ref = a.catalog.find_region(value)
        if ref:
            return ref.code
    ref = a.catalog.find_region(latest_text(tracker))
    return ref.code if ref else None


def resolve_age(tracker: Tracker) -> Optional[int]:
    for value in entity_values(tracker, "age"):
        age = parse_age(value)
        if age is not None:
            return age
    age = parse_age(latest_text(tracker))
    if age is not None:
        return age
    slot = tracker.get_slot(AGE_SLOT)
    return int(slot) if slot is not None else None


class ActionServiceGuide(Action):
    """A service question: the answer first (FAQ entry or summary), then the local part;
    the city is offered as buttons after the answer, never asked before it."""

    def name(self) -> str:
        return "action_service_guide"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        if asks_progress(latest_text(tracker)) and not entity_values(tracker, "entry"):
            return [FollowupAction("status_form")]
        if section_request(latest_text(tracker)) and tracker.get_slot(SERVICE_SLOT):
            return [FollowupAction("action_service_section")]
        code = service_for_intent(latest_intent(tracker)) or tracker.get_slot(SERVICE_SLOT)
        age = resolve_age(tracker)
        entry_ids = entity_values(tracker, "entry")
        text = latest_text(tracker)
        # 完整指南: the service's own payload again while it is under discussion
        full = bool(code) and text == full_guide_payload(code) and tracker.get_slot(SERVICE_SLOT) == code
        state: Dict[str, Any] = {"service": code}

        def answer(a: Assistant) -> Reply:
            # A QR-code entry point fixes the service, the region and the office.
            entry = a.catalog.entry_point(entry_ids[0]) if entry_ids else None
            if entry is not None:
                state.update(service=entry.service, region=entry.region, office=entry.office)
                return a.answer(entry.service, "", entry.region, age, office_code=entry.office)
            info = a.catalog.service(code) if code else None
            if info is None:
                return a.menu()
            region = resolve_region(a, tracker) or tracker.get_slot(REGION_SLOT)
            state["region"] = region
            # keep the QR office only while the conversation stays in its region
            office = tracker.get_slot(OFFICE_SLOT) if region == tracker.get_slot(REGION_SLOT) else None
            state["office"] = office
            if full:
                return a.guide(code, region, age, office_code=office)
            reply = a.answer(code, "" if text.startswith("/") else text, region, age, office_code=office)
            state["asking"] = region is None and any(b.payload.startswith("/inform_region") for b in reply.buttons)
            return reply

        reply, ok = await backend.reply_or_apology(answer, self.name())
        dispatch(dispatcher, reply)
        message = tracker.latest_message or {}
        confidence = (message.get("intent") or {}).get("confidence")
        if ok and reply.kind == "guide" and confidence is not None and confidence < LOW_CONFIDENCE \
                and not entry_ids:
            await backend.record_review("low_confidence", message, reply.service)
        if not ok or reply.kind == "menu":
            return []
        events = [SlotSet(SERVICE_SLOT, state["service"]), SlotSet(AGE_SLOT, age)]
        if state.get("region"):
            events.append(SlotSet(REGION_SLOT, state["region"]))
        if "office" in state:
            events.append(SlotSet(OFFICE_SLOT, state["office"]))
        # the city buttons were offered: a city named next completes this question
        events.append(SlotSet(AWAITING_SLOT, bool(state.get("asking"))))
        if state.get("asking"):
            events.append(SlotSet(ASKED_SLOT, True))
        return events


class ActionInformRegion(Action):
    """The citizen names a place (or skips): remember it and answer the pending question."""

    def name(self) -> str:
        return "action_inform_region"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        followup = section_followup(tracker)
        if followup:
            return followup
        awaiting = bool(tracker.get_slot(AWAITING_SLOT))
        service = tracker.get_slot(SERVICE_SLOT)
        skip = latest_intent(tracker) == "skip"
        age = resolve_age(tracker)
        question = pending_question(tracker)
        office = tracker.get_slot(OFFICE_SLOT)
        state: Dict[str, Any] = {}

        def answer(a: Assistant) -> Reply:
            if skip:
                if awaiting and service:
                    return a.guide(service, None, age)
                return a.menu()
            region = resolve_region(a, tracker)
            state["region"] = region
            if region is None:
                return a.region_not_understood()
            if awaiting and service:  # the local facts of the question just answered, briefly
                return a.local_facts(service, region, question, age,
                                     office_code=office if region == tracker.get_slot(REGION_SLOT) else None)
            return a.region_set(region)

        reply, ok = await backend.reply_or_apology(answer, self.name())
        dispatch(dispatcher, reply)
        if not ok:
            return []
        events: List[Dict[str, Any]] = []
        if state.get("region"):
            events.append(SlotSet(REGION_SLOT, state["region"]))
        if reply.kind in ("guide", "menu"):
            events.append(SlotSet(AWAITING_SLOT, False))
        return events


class ActionServiceSection(Action):
    """材料 / 流程 / 办理地点 follow-ups for the service under discussion."""

    def name(self) -> str:
        return "action_service_section"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        intent = latest_intent(tracker) or ""
        if intent == "ask_steps" and tracker.get_slot("fun_done") is not None \
                and parse_progress(latest_text(tracker)) is not None:
            # "下一步呢" while working through the funeral checklist
            return [FollowupAction("action_funeral_progress")]
        section = section_request(latest_text(tracker)) or (
            intent[len("ask_"):] if intent.startswith("ask_") else "steps")
        service = tracker.get_slot(SERVICE_SLOT)
        age = resolve_age(tracker)
        state: Dict[str, Any] = {}

        def answer(a: Assistant) -> Reply:
            if not service:
                return a.which_service(section)
            region = resolve_region(a, tracker) or tracker.get_slot(REGION_SLOT)
            state["region"] = region
            office = tracker.get_slot(OFFICE_SLOT) if region == tracker.get_slot(REGION_SLOT) else None
            return a.section(service, section, region, age, office_code=office)

        reply, ok = await backend.reply_or_apology(answer, self.name())
        dispatch(dispatcher, reply)
        if ok and state.get("region"):
            return [SlotSet(REGION_SLOT, state["region"])]
        return []


class ActionGreet(Action):
    """A greeting (and Telegram's /start, WeChat's subscribe, an unknown QR code): the
    welcome with the catalogue's menu, the same one the web chat's page shows."""

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher, tracker, domain):
        reply, ok = await backend.reply_or_apology(lambda a: a.welcome(), self.name())
        # the catalogue unreadable: the welcome without its menu, as the web page shows it
        dispatch(dispatcher, reply if ok else Assistant.basic_welcome())
        return []


class ActionMenu(Action):
    """What the assistant can do (also after "其他问题")."""

    def name(self) -> str:
        return "action_menu"

    async def run(self, dispatcher, tracker, domain):
        followup = section_followup(tracker)
        if followup:
            return followup
        reply, _ = await backend.reply_or_apology(lambda a: a.menu(), self.name())
        dispatch(dispatcher, reply)
        return [SlotSet(AWAITING_SLOT, False)]


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher, tracker, domain):
        followup = section_followup(tracker)
        if followup:
            return followup
        text = latest_text(tracker)
        region = tracker.get_slot(REGION_SLOT)
        reply, _ = await backend.reply_or_apology(lambda a: a.out_of_scope(text, region), self.name())
        dispatch(dispatcher, reply)
        return []


class ActionClarify(Action):
    """Low confidence: ask which service was meant, with the likely ones as buttons."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher, tracker, domain):
        message = tracker.latest_message or {}
        text = latest_text(tracker)
        followup = section_followup(tracker)
        if followup:
            return followup
        route = guided_route(text)
        if route:  # "FHURWZX3", "我想改约到12月3日": the form that takes it, not a guess
            return [FollowupAction(route)]
        candidates = fallback_candidates(message.get("intent_ranking"))
        state: Dict[str, Any] = {}

        def answer(a: Assistant) -> Reply:
            if not text.strip() or not any(ch.isalnum() for ch in text):
                return a.empty_message() if not text.strip() else a.clarify([], "")
            state["region"] = resolve_region(a, tracker)
            return a.clarify(candidates, text, state["region"] or tracker.get_slot(REGION_SLOT), resolve_age(tracker))

        reply, _ = await backend.reply_or_apology(answer, self.name())
        dispatch(dispatcher, reply)
        if reply.kind in ("clarify", "guide"):
            await backend.record_review("fallback", message, reply.service)
        events = [SlotSet(REGION_SLOT, state["region"])] if state.get("region") else []
        if reply.kind == "guide":  # one service only: answered, and now under discussion
            events.append(SlotSet(SERVICE_SLOT, reply.service))
        return events


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    async def run(self, dispatcher, tracker, domain):
        region = tracker.get_slot(REGION_SLOT)
        channel = ((tracker.latest_message or {}).get("metadata") or {}).get("channel")
        # channels that deliver operator replies (not the REST API used by `bot ask`): else the hotline
        online = channels.can_hand_off(channel) and await backend.staff_online()
        wait = backend.settings().handoff_wait_minutes
        reply, _ = await backend.reply_or_apology(lambda a: a.handoff(region, online, wait), self.name())
        dispatch(dispatcher, reply)
        return []
