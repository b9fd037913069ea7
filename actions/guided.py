"""Rasa adapters for the guided forms in ``bot.guided`` (see ``bot/guided/forms.py``).

For each form a ``validate_<form>`` action (a FormValidationAction whose ``run`` hands
the latest message and the slots to the form and returns its answer as events) and an
``action_submit_<form>`` action (the result once the form ends). The form decides
everything; these classes only translate. Database work runs in a worker thread.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from bot.assistant import Assistant, Reply
from bot.rasa_client import TURN_KEY
from bot.guided.forms import FORMS, GUIDED_INTENTS, Guided, GuidedForm, Message, Outcome, funeral_progress

from . import backend
from .actions import dispatch, latest_intent, latest_text

REQUESTED = "requested_slot"
EXIT = "form_exit"


@lru_cache(maxsize=1)
def guided() -> Guided:
    return Guided(backend.assistant(), backend.settings().db_url)


def reset() -> None:
    guided.cache_clear()


def client_of(tracker: Tracker) -> str:
    """Whom attempt limits count against: the hashed client address every channel puts in
    the message metadata (``"client"``), else the sender id (a channel without it)."""
    metadata = (tracker.latest_message or {}).get("metadata")
    client = metadata.get("client") if isinstance(metadata, dict) else None
    if isinstance(client, str) and client.strip():
        return "c:" + client.strip()[:64]
    return "s:" + str(tracker.sender_id or "")[:64]


def turn_of(tracker: Tracker) -> str:
    """The gateway's id of this turn (``bot.rasa_client.TURN_KEY`` in the message metadata,
    production mode only): the same when a turn is sent again after a replica died."""
    metadata = (tracker.latest_message or {}).get("metadata")
    turn = metadata.get(TURN_KEY) if isinstance(metadata, dict) else None
    return turn.strip()[:64] if isinstance(turn, str) else ""


def form_state(tracker: Tracker, form: GuidedForm) -> Dict[str, Any]:
    state = dict(tracker.slots)
    state["_conversation"] = tracker.sender_id
    state["_client"] = client_of(tracker)
    state["_turn"] = turn_of(tracker)
    # At activation Rasa runs the validation with the form not yet active; a
    # requested_slot carried over from an older session must not count.
    state["_starting"] = (tracker.active_loop or {}).get("name") != form.name
    return state


def message_of(tracker: Tracker) -> Message:
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    return Message(latest_text(tracker), intent.get("name"), float(intent.get("confidence") or 0.0),
                   tracker.sender_id)


def slot_events(updates: Dict[str, Any], domain: Dict[str, Any]) -> List[Dict[str, Any]]:
    known = set((domain or {}).get("slots", {})) or None
    return [SlotSet(k, v) for k, v in updates.items() if not k.startswith("_") and (known is None or k in known)]


class GuidedValidation(FormValidationAction, ABC):
    form_cls = GuidedForm

    @abstractmethod
    def concrete(self) -> bool:
        """Implemented by the per-form subclasses only (keeps this base unregistered)."""

    def name(self) -> str:
        return f"validate_{self.form_cls.name}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        message = message_of(tracker)

        def work():
            form = self.form_cls(guided())
            return form.turn(message, form_state(tracker, form))

        turn, apology = await backend.result_or_apology(work, self.name())
        if apology is not None:
            requested = tracker.get_slot(REQUESTED)
            if (tracker.active_loop or {}).get("name") == self.form_cls.name and requested:
                # mid-form: nothing answered so far is lost; the form waits for the same answer again
                dispatch(dispatcher, Assistant.unavailable_in_form(backend.settings().hotline, self.form_cls.title))
                return [SlotSet(REQUESTED, requested)]
            # at the start there is nothing to keep: end the form, its submit says nothing more
            dispatch(dispatcher, apology)
            return [SlotSet(EXIT, "unavailable"), SlotSet(REQUESTED, None), ActiveLoop(None)]
        if turn.reply is not None:
            dispatch(dispatcher, turn.reply)
        return slot_events(turn.updates, domain) + [SlotSet(REQUESTED, turn.requested)]


class GuidedSubmit(Action, ABC):
    form_cls = GuidedForm

    @abstractmethod
    def concrete(self) -> bool:
        """Implemented by the per-form subclasses only (keeps this base unregistered)."""

    def name(self) -> str:
        return f"action_submit_{self.form_cls.name}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        def work() -> Outcome:
            form = self.form_cls(guided())
            return form.submit(form_state(tracker, form))

        outcome, apology = await backend.result_or_apology(work, self.name())
        if apology is not None:
            dispatch(dispatcher, apology)
            return []
        if outcome.reply is not None:
            dispatch(dispatcher, outcome.reply)
        events = slot_events(outcome.updates, domain)
        if outcome.followup:
            events.append(FollowupAction(outcome.followup))
        return events


def _make(base, form_cls):
    return type(f"{base.__name__}{form_cls.__name__}", (base,),
                {"form_cls": form_cls, "concrete": lambda self: True, "__module__": __name__})


# one validation and one submit action per form, registered with the action server
VALIDATIONS = [_make(GuidedValidation, f) for f in FORMS]
SUBMITS = [_make(GuidedSubmit, f) for f in FORMS]
globals().update({cls.__name__: cls for cls in VALIDATIONS + SUBMITS})


class ActionAfterFormSwitch(Action):
    """The citizen left a form with a question about something else: answer that."""

    def name(self) -> str:
        return "action_after_form_switch"

    async def run(self, dispatcher, tracker, domain):
        intent = latest_intent(tracker)
        if intent in GUIDED_INTENTS:
            return [FollowupAction(GUIDED_INTENTS[intent])]
        if intent in ("ask_capabilities", "other_question"):
            return [FollowupAction("action_menu")]
        return [FollowupAction("action_service_guide")]


class ActionFuneralProgress(Action):
    """"第2步办好了" / "下一步" on the family's funeral checklist."""

    def name(self) -> str:
        return "action_funeral_progress"

    async def run(self, dispatcher, tracker, domain):
        text = latest_text(tracker)
        state = dict(tracker.slots)
        if not state.get("fun_place") and state.get("service"):
            # "下一步" after an ordinary guide: that service's steps
            return [FollowupAction("action_service_section")]
        outcome, apology = await backend.result_or_apology(lambda: funeral_progress(guided(), text, state), self.name())
        reply: Optional[Reply] = apology or outcome.reply
        dispatch(dispatcher, reply)
        return [] if apology else slot_events(outcome.updates, domain)
