"""The one Rasa client of ``bot/``: send, restart, tracker, parse.

Used by the gateway (every channel's turns), the handoff desk (the transcript and
what the bot understood), the console's assist mode (``parse``) and, through its
synchronous face ``SyncRasaClient``, ``python -m bot ask``.

``send`` takes the citizen's prepared message
(see ``bot.channel_input``) and get back whole messages (see
``bot.rasa_reply``), or ``ok=False`` when Rasa or the action server is down,
so the channel can apologise, give the hotline and offer a retry.

When the action server fails in the middle of a turn, Rasa logs the error, drops
that action's events and still answers ``200`` with whatever came before (often
nothing, sometimes the messages of an earlier action of the same turn). So a
reply is only a success when no custom action of this turn lost its events: with
the API token, ``send`` reads the turn back from the tracker (``partial_turn``).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from aiohttp import ClientError, ClientSession, ClientTimeout

from .rasa_reply import merge_messages

logger = logging.getLogger(__name__)

# Rasa's own actions (rasa.shared.core.constants.DEFAULT_ACTION_NAMES): they run in Rasa,
# and some (action_extract_slots, action_listen) legitimately produce no event.
RASA_ACTIONS = frozenset({
    "action_listen", "action_restart", "action_session_start", "action_default_fallback",
    "action_deactivate_loop", "action_revert_fallback_events", "action_default_ask_affirmation",
    "action_default_ask_rephrase", "action_two_stage_fallback", "action_unlikely_intent", "action_back",
    "action_extract_slots",
})
TRACKER_TIMEOUT = ClientTimeout(total=5)


@dataclass
class RasaResult:
    ok: bool
    messages: List[Dict[str, Any]] = field(default_factory=list)
    partial: bool = False  # Rasa answered, but an action of this turn failed


def _custom(name: Any) -> bool:
    """An action the action server runs (ours always send a message or set a slot)."""
    return isinstance(name, str) and not name.startswith("utter_") and name not in RASA_ACTIONS


def lost_actions(events: List[Dict[str, Any]]) -> List[str]:
    """Custom actions of the latest turn (after the last user message) that left no event:
    what Rasa logs when the action server failed ("the actions events are lost")."""
    last_user = max((i for i, ev in enumerate(events) if ev.get("event") == "user"), default=-1)
    if last_user < 0:
        return []
    turn = events[last_user + 1:]
    lost = []
    for i, ev in enumerate(turn):
        if ev.get("event") == "action" and _custom(ev.get("name")):
            following = turn[i + 1] if i + 1 < len(turn) else None
            if following is None or following.get("event") == "action":
                lost.append(str(ev["name"]))
    return lost


async def tracker(session: ClientSession, rasa_url: str, token: Optional[str], sender: str,
                  timeout: Optional[ClientTimeout] = None) -> Optional[Dict[str, Any]]:
    """The conversation's tracker (Rasa's HTTP API, token required), or None when unreadable."""
    try:
        async with session.get(f"{rasa_url.rstrip('/')}/conversations/{sender}/tracker",
                               params={"token": token or ""}, timeout=timeout or ClientTimeout(total=30)) as resp:
            if resp.status != 200:
                return None
            data = await resp.json()
    except (ClientError, asyncio.TimeoutError, ValueError):
        return None
    return data if isinstance(data, dict) else None


async def parse(session: ClientSession, rasa_url: str, token: Optional[str], text: str) -> Optional[Dict[str, Any]]:
    """Rasa's NLU result for ``text`` (``/model/parse``), or None when Rasa is unavailable."""
    try:
        async with session.post(f"{rasa_url.rstrip('/')}/model/parse", params={"token": token or ""},
                                json={"text": text}) as resp:
            if resp.status != 200:
                raise ClientError(f"status {resp.status}")
            return await resp.json()
    except (ClientError, asyncio.TimeoutError, ValueError) as exc:
        logger.warning("Rasa parse unavailable: %s", type(exc).__name__)
        return None


async def partial_turn(session: ClientSession, rasa_url: str, token: str, sender: str) -> Optional[bool]:
    """True when an action of ``sender``'s latest turn failed; None when the tracker is unreadable."""
    tracker_ = await tracker(session, rasa_url, token, sender, TRACKER_TIMEOUT)
    events = tracker_.get("events") if isinstance(tracker_, dict) else None
    if not isinstance(events, list):
        return None
    lost = lost_actions([ev for ev in events if isinstance(ev, dict)])
    if lost:
        logger.warning("action server failed during the turn: %s", ", ".join(lost))
    return bool(lost)


async def send(session: ClientSession, rasa_url: str, sender: str, message: str,
               metadata: Optional[Dict[str, Any]] = None, token: Optional[str] = None) -> RasaResult:
    """POST to /webhooks/rest/webhook. Never raises for network or server errors.

    With ``token`` (Rasa's API token), a reply whose turn lost an action's events is a
    failure too (``partial=True``), though Rasa answered."""
    try:
        async with session.post(
            f"{rasa_url.rstrip('/')}/webhooks/rest/webhook",
            json={"sender": sender, "message": message, "metadata": metadata or {}},
        ) as resp:
            if resp.status != 200:
                raise ClientError(f"status {resp.status}")
            raw = await resp.json()
    except (ClientError, asyncio.TimeoutError, ValueError) as exc:
        logger.warning("Rasa unavailable: %s", type(exc).__name__)
        return RasaResult(False)
    messages = merge_messages(raw if isinstance(raw, list) else [])
    if not messages:
        # Rasa answered but produced nothing: the action server is down (or failed).
        logger.warning("Rasa returned no messages (action server down?)")
        return RasaResult(False)
    if token is not None and await partial_turn(session, rasa_url, token, sender):
        return RasaResult(False, messages, partial=True)
    return RasaResult(True, messages)


async def restart(session: ClientSession, rasa_url: str, sender: str) -> bool:
    """Forget the conversation: Rasa's default ``/restart`` resets every slot and the
    dialogue state of ``sender``. True when Rasa accepted it."""
    try:
        async with session.post(
            f"{rasa_url.rstrip('/')}/webhooks/rest/webhook",
            json={"sender": sender, "message": "/restart", "metadata": {}},
        ) as resp:
            return resp.status == 200
    except (ClientError, asyncio.TimeoutError):
        logger.warning("Rasa unavailable for restart")
        return False


def last_user_intent(tracker: Dict[str, Any]) -> Dict[str, Any]:
    """The NLU intent of the last user event of a tracker dump (``latest_message`` without events)."""
    for ev in reversed(tracker.get("events") or []):
        if isinstance(ev, dict) and ev.get("event") == "user":
            return ((ev.get("parse_data") or {}).get("intent")) or {}
    return (tracker.get("latest_message") or {}).get("intent") or {}


class SyncRasaClient:
    """The same API for synchronous callers (``python -m bot ask``): ``requests``, and
    its exceptions propagate (the caller turns them into one line for the operator)."""

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 30.0):
        import requests

        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def send(self, sender: str, message: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        r = self.http.post(f"{self.url}/webhooks/rest/webhook", json=body, timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def tracker(self, sender: str) -> Dict[str, Any]:
        params = {"include_events": "AFTER_RESTART"}
        if self.token:
            params["token"] = self.token
        r = self.http.get(f"{self.url}/conversations/{sender}/tracker", params=params, timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def latest_intent(self, sender: str) -> Dict[str, Any]:
        """The intent NLU gave the conversation's last user message. Read from the last
        ``user`` event, not from ``latest_message``: Rasa rebuilds that from the events
        it still applies, and inside a form it leaves out the form's own turns, so
        ``latest_message`` stays the message that started the form."""
        return last_user_intent(self.tracker(sender))
