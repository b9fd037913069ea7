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

Every request about a conversation carries its sender id in the ``X-Minzheng-Sender``
header: in production mode nginx chooses the Rasa replica by a consistent hash of it
(``bot.production``), so one conversation is served by one replica at a time. When
the replica died during the turn, ``send`` says so (``RasaResult.retry``: the
connection was refused or reset, or nginx answered 502/503 before any reply) and the
gateway decides whether to send the turn again (``turn_outcome``).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from aiohttp import ClientError, ClientResponseError, ClientSession, ClientTimeout

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
SENDER_HEADER = "X-Minzheng-Sender"
TURN_KEY = "turn"  # metadata key of the turn id: the tracker keeps it on the user event
# nginx's answers when the replica died or none was reachable (504 is not here: the
# replica may still be working on the turn, so sending it again could run it twice)
REPLICA_DIED = frozenset({502, 503})


def sender_headers(sender: str) -> Dict[str, str]:
    """The routing header; sender ids are ASCII, anything else is percent-encoded."""
    from urllib.parse import quote

    return {SENDER_HEADER: quote(sender, safe="-_.:@")}


@dataclass
class RasaResult:
    ok: bool
    messages: List[Dict[str, Any]] = field(default_factory=list)
    partial: bool = False  # Rasa answered, but an action of this turn failed
    # "refused": the request never reached Rasa (always safe to send again); "lost": the
    # replica died during the turn (connection reset, 502/503); None: no such failure
    retry: Optional[str] = None


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
                               params={"token": token or ""}, headers=sender_headers(sender),
                               timeout=timeout or ClientTimeout(total=30)) as resp:
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


def _failure(exc: BaseException) -> Optional[str]:
    """What a failed request tells about the turn: "refused" (never reached Rasa), "lost"
    (the replica died while it had the turn) or None (a timeout, a bad answer: unknown)."""
    from aiohttp import (ClientConnectorError, ClientOSError, ClientPayloadError, ClientResponseError,
                         ServerDisconnectedError)

    if isinstance(exc, ClientConnectorError):
        return "refused"
    if isinstance(exc, ClientResponseError):
        return "lost" if exc.status in REPLICA_DIED else None
    if isinstance(exc, (ServerDisconnectedError, ClientOSError, ClientPayloadError)):
        return "lost"
    return None


async def send(session: ClientSession, rasa_url: str, sender: str, message: str,
               metadata: Optional[Dict[str, Any]] = None, token: Optional[str] = None,
               timeout: Optional[ClientTimeout] = None) -> RasaResult:
    """POST to /webhooks/rest/webhook. Never raises for network or server errors.

    With ``token`` (Rasa's API token), a reply whose turn lost an action's events is a
    failure too (``partial=True``), though Rasa answered. ``timeout``: instead of the
    session's."""
    extra = {"timeout": timeout} if timeout is not None else {}
    try:
        async with session.post(
            f"{rasa_url.rstrip('/')}/webhooks/rest/webhook",
            json={"sender": sender, "message": message, "metadata": metadata or {}},
            headers=sender_headers(sender), **extra,
        ) as resp:
            if resp.status != 200:
                raise ClientResponseError(resp.request_info, resp.history, status=resp.status)
            raw = await resp.json()
    except (ClientError, asyncio.TimeoutError, ValueError) as exc:
        logger.warning("Rasa unavailable: %s%s", type(exc).__name__,
                       f" {exc.status}" if isinstance(exc, ClientResponseError) else "")
        return RasaResult(False, retry=_failure(exc))
    return await _result(session, rasa_url, sender, raw, token)


async def _result(session: ClientSession, rasa_url: str, sender: str, raw: Any, token: Optional[str]) -> RasaResult:
    messages = merge_messages(raw if isinstance(raw, list) else [])
    if not messages:
        # Rasa answered but produced nothing: the action server is down (or failed).
        logger.warning("Rasa returned no messages (action server down?)")
        return RasaResult(False)
    if token is not None and await partial_turn(session, rasa_url, token, sender):
        return RasaResult(False, messages, partial=True)
    return RasaResult(True, messages)


def turn_events(events: List[Dict[str, Any]], turn_id: str) -> Optional[List[Dict[str, Any]]]:
    """The events after the user message of turn ``turn_id`` (up to the next user message),
    or None when the tracker has no such message: the turn was not processed."""
    start = None
    for i, ev in enumerate(events):
        if ev.get("event") == "user" and (ev.get("metadata") or {}).get(TURN_KEY) == turn_id:
            start = i
    if start is None:
        return None
    turn = []
    for ev in events[start + 1:]:
        if ev.get("event") == "user":
            break
        turn.append(ev)
    return turn


def replies_of(turn: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The bot events of a turn as the REST channel would have answered them."""
    raw = []
    for ev in turn:
        if ev.get("event") != "bot":
            continue
        data = ev.get("data") or {}
        msg: Dict[str, Any] = {}
        if ev.get("text") is not None:
            msg["text"] = ev["text"]
            if data.get("buttons"):
                msg["buttons"] = data["buttons"]
        if data.get("custom") is not None:
            if msg:
                raw.append(msg)
                msg = {}
            msg["custom"] = data["custom"]
        if msg:
            raw.append(msg)
    return raw


async def turn_outcome(session: ClientSession, rasa_url: str, token: Optional[str], sender: str,
                       turn_id: str) -> Tuple[str, Optional[RasaResult]]:
    """After a replica died during turn ``turn_id``, what the shared tracker store says
    (Rasa saves the tracker there before it answers):

    ("done", result)  the turn was processed: its replies, read from the tracker;
    ("absent", None)  no trace of it: safe to send it again;
    ("unknown", None) the tracker is unreadable (or no API token): not safe to send again."""
    if not token:
        return "unknown", None
    tracker_ = await tracker(session, rasa_url, token, sender, TRACKER_TIMEOUT)
    events = tracker_.get("events") if isinstance(tracker_, dict) else None
    if not isinstance(events, list):
        return "unknown", None
    turn = turn_events([ev for ev in events if isinstance(ev, dict)], turn_id)
    if turn is None:
        return "absent", None
    messages = merge_messages(replies_of(turn))
    lost = lost_actions([{"event": "user"}, *turn])
    if not messages or lost:
        return "done", RasaResult(False, messages, partial=bool(lost))
    return "done", RasaResult(True, messages)


async def restart(session: ClientSession, rasa_url: str, sender: str) -> bool:
    """Forget the conversation: Rasa's default ``/restart`` resets every slot and the
    dialogue state of ``sender``. True when Rasa accepted it."""
    try:
        async with session.post(
            f"{rasa_url.rstrip('/')}/webhooks/rest/webhook",
            json={"sender": sender, "message": "/restart", "metadata": {}},
            headers=sender_headers(sender),
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
        r = self.http.post(f"{self.url}/webhooks/rest/webhook", json=body, headers=sender_headers(sender),
                           timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def tracker(self, sender: str) -> Dict[str, Any]:
        params = {"include_events": "AFTER_RESTART"}
        if self.token:
            params["token"] = self.token
        r = self.http.get(f"{self.url}/conversations/{sender}/tracker", params=params,
                          headers=sender_headers(sender), timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def latest_intent(self, sender: str) -> Dict[str, Any]:
        """The intent NLU gave the conversation's last user message. Read from the last
        ``user`` event, not from ``latest_message``: Rasa rebuilds that from the events
        it still applies, and inside a form it leaves out the form's own turns, so
        ``latest_message`` stays the message that started the form."""
        return last_user_intent(self.tracker(sender))
