"""Live handoff from the bot to hotline staff (the desk), independent of channels.

A conversation (a Rasa sender id, prefixed by its channel: see ``bot.channels``) enters the queue when
the citizen asks for a person or the bot fails twice in a row. While it is open the
channels do not forward the citizen's messages to Rasa: they record them here, and
deliver what the operator writes. Lifecycle:

    waiting --take--> active --hand_back / close--> closed
    waiting --expire (no operator in time)--> closed (the citizen gets the hotline)

At most one open handoff per conversation (a partial unique index), and only one
operator can take a waiting conversation (a conditional UPDATE). Transcripts shown to
staff mask ID-card and mobile numbers unless an operator reveals them, which is recorded (``reveal_log``) and logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .catalog import models
from .catalog.db import session_scope
from .privacy import mask_personal
from . import channels, rasa_client
from .rasa_client import last_user_intent

logger = logging.getLogger(__name__)
audit = logging.getLogger("minzheng.audit")

OPEN = ("waiting", "active")


@dataclass(frozen=True)
class Line:
    at: datetime
    author: str
    text: str
    id: Optional[int] = None


@dataclass(frozen=True)
class HandoffView:
    id: int
    channel: str
    sender: str
    status: str
    reason: str
    understood: Dict[str, Any]
    created_at: datetime
    waited_seconds: int
    taken_by: Optional[int]
    transcript: List[Line] = field(default_factory=list)


class HandoffError(ValueError):
    pass


class HandoffDesk:
    def __init__(self, db_url: str, now: Callable[[], datetime] = datetime.utcnow):
        self.db_url = db_url
        self.now = now

    # -- helpers -------------------------------------------------------------------------
    def _view(self, s, h: models.Handoff, with_transcript: bool = False, reveal: bool = False) -> HandoffView:
        lines: List[Line] = []
        if with_transcript:
            rows = s.execute(select(models.HandoffMessage).where(models.HandoffMessage.handoff_id == h.id)
                             .order_by(models.HandoffMessage.id)).scalars()
            lines = [Line(r.at, r.author, r.text if reveal else mask_personal(r.text)) for r in rows]
        end = h.taken_at or h.closed_at or self.now()
        return HandoffView(h.id, h.channel, h.sender, h.status, h.reason, dict(h.understood or {}),
                           h.created_at, int((end - h.created_at).total_seconds()), h.taken_by, lines)

    def _add(self, s, handoff_id: int, author: str, text: str, delivered: bool,
             at: Optional[datetime] = None) -> None:
        s.add(models.HandoffMessage(handoff_id=handoff_id, at=at or self.now(), author=author, text=text[:4000],
                                    delivered=delivered))

    def _open(self, s, sender: str) -> Optional[models.Handoff]:
        return s.execute(select(models.Handoff).where(models.Handoff.sender == sender,
                                                      models.Handoff.status.in_(OPEN))).scalar_one_or_none()

    # -- the citizen's side (channels) ----------------------------------------------------------
    def request(self, channel: str, sender: str, reason: str, understood: Optional[Dict[str, Any]] = None,
                transcript: Iterable[Tuple[str, str]] = ()) -> HandoffView:
        """Queue the conversation (or return its open handoff)."""
        if not channels.can_hand_off(channel) or reason not in ("asked", "bot_failed"):
            raise HandoffError("bad channel or reason")
        try:
            with session_scope(self.db_url) as s:
                existing = self._open(s, sender)
                if existing is not None:
                    return self._view(s, existing)
                h = models.Handoff(channel=channel, sender=sender, status="waiting", reason=reason,
                                   understood=understood or {}, created_at=self.now())
                s.add(h)
                s.flush()
                for author, text in transcript:
                    if author in ("citizen", "bot") and text:
                        self._add(s, h.id, author, text, True)
                return self._view(s, h)
        except IntegrityError:  # another request queued it at the same moment
            with session_scope(self.db_url) as s:
                return self._view(s, self._open(s, sender))

    def open_for(self, sender: str) -> Optional[HandoffView]:
        with session_scope(self.db_url) as s:
            h = self._open(s, sender)
            return self._view(s, h) if h else None

    def citizen_says(self, sender: str, text: str, at: Optional[datetime] = None) -> bool:
        """Record a citizen's message if the conversation is with staff; False: give it to the bot.
        ``at``: when it was said, for a message held while the database was unavailable."""
        with session_scope(self.db_url) as s:
            h = self._open(s, sender)
            if h is None:
                return False
            self._add(s, h.id, "citizen", text, True, at)
            return True

    def undelivered(self, sender: str, mark: bool = True) -> List[Line]:
        """Operator and system messages not yet shown to the citizen; marks them delivered
        unless ``mark`` is False (a channel that may fail to push marks them itself once
        they are out: ``mark_delivered``)."""
        with session_scope(self.db_url) as s:
            rows = s.execute(select(models.HandoffMessage).join(models.Handoff,
                                                                models.Handoff.id == models.HandoffMessage.handoff_id)
                             .where(models.Handoff.sender == sender, models.HandoffMessage.delivered.is_(False))
                             .order_by(models.HandoffMessage.id)).scalars().all()
            if mark:
                for r in rows:
                    r.delivered = True
            return [Line(r.at, r.author, r.text, r.id) for r in rows]

    def mark_delivered(self, ids: Iterable[int]) -> None:
        ids = [i for i in ids if i is not None]
        if not ids:
            return
        with session_scope(self.db_url) as s:
            s.execute(update(models.HandoffMessage).where(models.HandoffMessage.id.in_(ids))
                      .values(delivered=True).execution_options(synchronize_session=False))

    def senders_with_news(self, channel: str) -> List[str]:
        """Conversations of ``channel`` with operator/system messages not yet delivered
        (for channels that push, like Telegram)."""
        with session_scope(self.db_url) as s:
            rows = s.execute(select(models.Handoff.sender).join(
                models.HandoffMessage, models.HandoffMessage.handoff_id == models.Handoff.id).where(
                models.Handoff.channel == channel, models.HandoffMessage.delivered.is_(False)).distinct())
            return sorted(set(rows.scalars()))

    # -- the desk's side (console) ------------------------------------------------------------------
    def queue(self) -> List[HandoffView]:
        with session_scope(self.db_url) as s:
            rows = s.execute(select(models.Handoff).where(models.Handoff.status == "waiting")
                             .order_by(models.Handoff.created_at, models.Handoff.id)).scalars().all()
            return [self._view(s, h, with_transcript=True) for h in rows]

    def get(self, handoff_id: int, reveal_by: Optional[int] = None) -> Optional[HandoffView]:
        with session_scope(self.db_url) as s:
            h = s.get(models.Handoff, handoff_id)
            if h is None:
                return None
            if reveal_by is not None:
                s.add(models.RevealLog(at=self.now(), staff_id=reveal_by, handoff_id=handoff_id))
                audit.info("staff %s revealed personal data in handoff %s", reveal_by, handoff_id)
            return self._view(s, h, with_transcript=True, reveal=reveal_by is not None)

    def take(self, handoff_id: int, staff_id: int) -> bool:
        """Only one operator gets a waiting conversation."""
        with session_scope(self.db_url) as s:
            res = s.execute(update(models.Handoff).where(models.Handoff.id == handoff_id,
                                                         models.Handoff.status == "waiting")
                            .values(status="active", taken_by=staff_id, taken_at=self.now())
                            .execution_options(synchronize_session=False))
            if res.rowcount != 1:
                return False
            self._add(s, handoff_id, "system", "工作人员已接入，请直接描述您的问题。", False)
            return True

    def _owned_active(self, s, handoff_id: int, staff_id: int) -> models.Handoff:
        h = s.get(models.Handoff, handoff_id)
        if h is None or h.status != "active" or h.taken_by != staff_id:
            raise HandoffError("not your active conversation")
        return h

    def operator_says(self, handoff_id: int, staff_id: int, text: str) -> None:
        text = (text or "").strip()
        if not text:
            raise HandoffError("empty message")
        with session_scope(self.db_url) as s:
            self._owned_active(s, handoff_id, staff_id)
            self._add(s, handoff_id, "operator", text, False)

    def finish(self, handoff_id: int, staff_id: int, back_to_bot: bool) -> None:
        with session_scope(self.db_url) as s:
            h = self._owned_active(s, handoff_id, staff_id)
            h.status, h.closed_at = "closed", self.now()
            h.outcome = "back_to_bot" if back_to_bot else "closed"
            note = ("人工服务已结束，接下来由智能助手继续为您服务，您可以直接提问。" if back_to_bot
                    else "人工服务已结束，感谢您的耐心。如还有问题，可以继续向智能助手提问。")
            self._add(s, h.id, "system", note, False)

    def expire(self, timeout: timedelta, notice) -> List[str]:
        """Close conversations nobody took within ``timeout``; the citizen gets ``notice``
        (a text, or a function of what the bot understood, e.g. to name the local hotline).
        Returns their senders (for channels that push, like Telegram)."""
        limit = self.now() - timeout
        out: List[str] = []
        with session_scope(self.db_url) as s:
            rows = s.execute(select(models.Handoff).where(models.Handoff.status == "waiting",
                                                          models.Handoff.created_at <= limit)).scalars().all()
            for h in rows:
                res = s.execute(update(models.Handoff).where(models.Handoff.id == h.id,
                                                             models.Handoff.status == "waiting")
                                .values(status="closed", closed_at=self.now(), outcome="timed_out")
                                .execution_options(synchronize_session=False))
                if res.rowcount == 1:
                    text = notice(dict(h.understood or {})) if callable(notice) else notice
                    self._add(s, h.id, "system", text, False)
                    out.append(h.sender)
        return out


# -- glue used by the channels ------------------------------------------------------------------


FORM_ANSWERS = ("elig_age", "elig_hukou", "elig_economic", "elig_care", "elig_disability", "fun_place",
                "fun_natural", "fun_hukou", "fun_pension", "fun_done", "book_kind", "book_office", "book_day",
                "book_time", "mb_op")


async def conversation_so_far(http, rasa_url: str, token: str, sender: str, turns: int = 12):
    """(transcript, understood) from Rasa's tracker: the last messages and the slots."""
    tracker = await rasa_client.tracker(http, rasa_url, token, sender)
    if tracker is None:
        return [], {}
    lines = []
    for ev in tracker.get("events") or []:
        if ev.get("event") == "user" and ev.get("text") and not str(ev["text"]).startswith("/"):
            lines.append(("citizen", str(ev["text"])))
        elif ev.get("event") == "bot" and ev.get("text"):
            lines.append(("bot", str(ev["text"])))
    slots = tracker.get("slots") or {}
    understood = {k: slots.get(k) for k in ("service", "region", "office", "age") if slots.get(k) is not None}
    # form answers (never the personal ones: names, phone digits, birth dates, codes)
    understood.update({k: slots.get(k) for k in FORM_ANSWERS if slots.get(k) not in (None, [], "")})
    # the form running, or the one that handed over (its name stays in form_last)
    loop = (tracker.get("active_loop") or {}).get("name") or slots.get("form_last")
    if loop:
        understood["form"] = loop
    # the last user event's intent: latest_message stays a form's first message inside a form
    intent = last_user_intent(tracker).get("name")
    if intent:
        understood["last_intent"] = intent
    return lines[-turns:], understood


def failed_turns(tracker: dict, kinds=("clarify",)) -> int:
    """How many of the latest bot turns in a row were failures (clarifying questions)."""
    turns: List[List[str]] = []
    for ev in tracker.get("events") or []:
        if ev.get("event") == "user":
            turns.append([])
        elif ev.get("event") == "bot" and turns:
            custom = ((ev.get("data") or {}).get("custom") or {})
            if custom.get("kind"):
                turns[-1].append(str(custom["kind"]))
    n = 0
    for kinds_of_turn in reversed([t for t in turns if t]):
        if any(k in kinds for k in kinds_of_turn):
            n += 1
        else:
            break
    return n


async def fetch_tracker(http, rasa_url: str, token: str, sender: str) -> dict:
    return await rasa_client.tracker(http, rasa_url, token, sender) or {}


async def failed_twice_with_staff(http, rasa_url: str, token: str, db_url: str, sender: str) -> bool:
    """The bot asked a clarifying question twice in a row and an operator is signed in."""
    import asyncio

    from .console.auth import StaffAuth

    try:
        online = await asyncio.to_thread(lambda: StaffAuth(db_url).online_count() > 0)
    except Exception:  # noqa: BLE001 - presence unknown: no handoff
        return False
    if not online:
        return False
    return failed_turns(await fetch_tracker(http, rasa_url, token, sender)) >= 2


async def queue_conversation(http, rasa_url: str, token: str, desk: HandoffDesk, channel: str, sender: str,
                             reason: str = "asked") -> None:
    import asyncio

    transcript, understood = await conversation_so_far(http, rasa_url, token, sender)
    try:
        await asyncio.to_thread(desk.request, channel, sender, reason, understood, transcript)
    except Exception:  # noqa: BLE001 - the citizen already got the bot's answer; log the type only
        logger.error("could not queue a handoff")


def timeout_notice(catalog, hotline: str):
    """The message for a citizen nobody could serve: the region's hotline and, when the
    bot knew the service and region, where and when the office is open."""
    from .assistant import Assistant

    def notice(understood: Dict[str, Any]) -> str:
        region, service = understood.get("region"), understood.get("service")
        number, office = hotline, None
        try:
            number = catalog.hotline_for(region) if region else hotline
            if region and service and catalog.service(service):
                offices = catalog.guide(service, region).offices
                office = offices[0] if offices else None
        except Exception:  # noqa: BLE001 - the plain hotline message is still right
            pass
        return Assistant.channel_notice("handoff_timeout", hotline=number, office=office).text

    return notice


async def expiry_loop(desk: HandoffDesk, settings, every: float = 10.0, catalog=None) -> None:
    """Close waiting handoffs nobody took in time (the citizen gets the hotline)."""
    import asyncio

    notice = timeout_notice(catalog, settings.hotline) if catalog is not None else None
    if notice is None:
        from .assistant import Assistant

        notice = Assistant.channel_notice("handoff_timeout", hotline=settings.hotline, office=None).text
    while True:
        try:
            await asyncio.to_thread(desk.expire, timedelta(minutes=settings.handoff_wait_minutes), notice)
        except Exception:  # noqa: BLE001 - keep the loop alive while the database is down
            logger.warning("handoff expiry failed")
        await asyncio.sleep(every)
