"""The conversation gateway: one citizen turn, the same for every channel.

    channel adapter (web, Telegram, WeChat: wire format only)
        -> Gateway.converse(channel, sender, said, metadata)
             rate limit (the channel's own limiter, given as ``limit``)
             input checks (bot.channel_input)
             the handoff desk: while a person serves the conversation the message is
               recorded for staff instead of going to Rasa (held in memory by channels
               that keep a ``held`` store while the database is unavailable)
             Rasa (bot.rasa_client.send, with the partial-reply check); when the Rasa
               replica died during the turn, the turn is sent once more if the shared
               tracker store shows it was not processed (or its replies are read from there)
             statistics and review records (which guides the conversation got)
             handoff queueing (asked for, or the bot failed twice with staff online)
             and the channel notices
        <- Turn(status, messages, handoff)

Messages are dicts ``{"text", "html", "buttons", "kind", "service"}`` (bot.rasa_reply);
each channel renders them. Ratings of guides go through ``rate_sent`` / ``rate``.
"""
from __future__ import annotations

import asyncio
import html
import logging
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import ClientSession, ClientTimeout

from . import channels, entry, handoff, rasa_client, stats
from .assistant import Assistant, Reply
from .catalog.queries import Catalog
from .channel_input import Prepared, prepare_payload, prepare_text
from .config import Settings
from .handoff import HandoffDesk
from .review import ReviewDesk

logger = logging.getLogger(__name__)

HELD_NOTICE = "您的消息已收到，工作人员会尽快回复您，请稍候。"
HELD_FULL = "抱歉，系统暂时繁忙，您的消息没能送达工作人员。请稍后再发一次，如有急事请拨打热线 {hotline}。"
TROUBLE_SECONDS = 10.0  # after a database failure, skip optional database work this long
# Pause before sending a turn again after its replica died. Rasa 3.6's ticket lock gets stuck
# when the dead replica's ticket and the new one expire within one poll (1 s) of each other:
# both are removed and nobody is "now serving" (the turn hangs until the client gives up).
# Issuing the new ticket 2 s later makes the dead one expire first.
RETRY_PAUSE = 2.0
# In production mode a turn may wait longer in a busy replica's queue (after a replica died
# its conversations double the survivor's load) before the citizen gets the apology: a turn
# given up on is a turn lost, and the replica may still run it.
REPLICATED_TURN_TIMEOUT = ClientTimeout(total=60, connect=5)
GUIDE_KINDS = ("guide", "section")


def message_of(reply: Reply) -> Dict[str, Any]:
    return {"text": reply.text, "html": reply.html, "buttons": [b.as_dict() for b in reply.buttons],
            "kind": reply.kind, "service": reply.service}


def notice(text: str, kind: str) -> Dict[str, Any]:
    return {"text": text, "html": html.escape(text, quote=False), "buttons": [], "kind": kind, "service": None}


@dataclass(frozen=True)
class Said:
    """What the citizen sent: typed ``text``, a button ``payload``, a QR ``entry`` id, or
    ``rasa``: a message the channel itself chose (a command such as /greet, or a
    message already checked that is being retried)."""
    kind: str
    value: Any

    @classmethod
    def text(cls, value: Any) -> Said:
        return cls("text", value)

    @classmethod
    def payload(cls, value: Any) -> Said:
        return cls("payload", value)

    @classmethod
    def entry(cls, value: Any) -> Said:
        return cls("entry", value)

    @classmethod
    def rasa(cls, value: str) -> Said:
        return cls("rasa", value)


@dataclass
class Turn:
    # "bot": Rasa answered; "local": answered without Rasa (bad input); "unavailable": Rasa or
    # the action server failed (retry); "staff": recorded for the operator; "held": kept for the
    # desk while the database is unavailable; "full": could not even keep it; "rate_limited"
    status: str
    messages: List[Dict[str, Any]] = field(default_factory=list)
    handoff: bool = False
    message: Optional[str] = None  # what went (or would go) to Rasa, for a retry

    @property
    def ok(self) -> bool:
        return self.status in ("bot", "local", "staff", "held")


class Gateway:
    def __init__(self, settings: Settings, rasa_url: str, *, catalog: Optional[Catalog] = None,
                 desk: Optional[HandoffDesk] = None, held=None,
                 http: Optional[Callable[[], ClientSession]] = None,
                 trouble: Optional[Callable[[], bool]] = None, note_trouble: Optional[Callable[[], None]] = None):
        self.settings = settings
        self.rasa_url = rasa_url.rstrip("/")
        self.catalog = catalog or Catalog(settings.db_url, settings.hotline)
        self.desk = desk or HandoffDesk(settings.db_url)
        self.held = held  # bot.web.held.HeldMessages, for channels that hold messages in trouble
        self._http_factory = http
        self._own_http: Optional[ClientSession] = None
        self._trouble_until = 0.0
        self._trouble = trouble
        self._note_trouble = note_trouble
        self.retried = 0  # turns sent a second time because the Rasa replica died (bot.production)
        self.retry_pause = RETRY_PAUSE

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def http(self) -> ClientSession:
        if self._http_factory is not None:
            return self._http_factory()
        if self._own_http is None or self._own_http.closed:
            self._own_http = ClientSession(timeout=ClientTimeout(total=30, connect=3))
        return self._own_http

    async def close(self) -> None:
        if self._own_http is not None:
            await self._own_http.close()
            self._own_http = None

    @property
    def token(self) -> str:
        return self.settings.rasa_token

    def db_trouble(self) -> bool:
        return self._trouble() if self._trouble else self._trouble_until > time.monotonic()

    def note_db_trouble(self) -> None:
        if self._note_trouble:
            self._note_trouble()
        else:
            self._trouble_until = time.monotonic() + TROUBLE_SECONDS

    # -- one turn ------------------------------------------------------------------------------
    async def prepare(self, said: Said) -> Prepared:
        if said.kind == "entry":
            # a QR code: open on its service and office; anything unknown gets the normal welcome
            try:
                message = await asyncio.to_thread(entry.rasa_message, self.catalog, said.value)
            except Exception:  # noqa: BLE001 - catalogue down: still greet, the guide apologises later
                logger.warning("entry point lookup failed")
                message = None
            return Prepared(message or "/greet")
        if said.kind == "payload":
            return prepare_payload(str(said.value))
        if said.kind == "rasa":
            return Prepared(str(said.value))
        return prepare_text(said.value if isinstance(said.value, str) else "")

    async def converse(self, channel: str, sender: str, said: Said, metadata: Optional[Dict[str, Any]] = None,
                       *, limit: Optional[Callable[[], Awaitable[Optional[str]]]] = None,
                       waiting: Optional[Callable[[], Any]] = None) -> Turn:
        """One citizen turn. ``limit``: the channel's rate limit (the refusal's text, or None);
        ``waiting``: an async context manager factory around the Rasa call ("typing…")."""
        ch = channels.require(channel)
        if limit is not None:
            refusal = await limit()
            if refusal is not None:
                return Turn("rate_limited", [notice(refusal, "rate_limited")])
        prepared = await self.prepare(said)
        if prepared.message is None:
            return Turn("local", [message_of(Assistant.for_problem(prepared.problem))])
        typed = said.value if said.kind == "text" and isinstance(said.value, str) else None
        spoken = typed if typed is not None else prepared.message

        with_staff = await self._to_desk(sender, spoken)
        if with_staff == "held":
            return Turn("held", [notice(HELD_NOTICE, "held")], handoff=True)
        if with_staff == "full":
            text = HELD_FULL.format(hotline=self.settings.hotline)
            return Turn("full", [notice(text, "unavailable")], handoff=True, message=prepared.message)
        if with_staff:  # a person is serving this conversation: the bot stays silent
            try:
                staff = await self.staff_messages(sender)
            except Exception:  # noqa: BLE001 - delivered later (next poll or push)
                staff = []
            return Turn("staff", staff, handoff=True)

        meta = {**(metadata or {}), "channel": ch.name}  # the actions ask bot.channels what it can carry
        async with (waiting() if waiting else nullcontext()):
            result = await self.send(sender, prepared.message, meta)
        if not result.ok:
            return Turn("unavailable", [message_of(Assistant.unavailable(self.settings.hotline))],
                        message=prepared.message)
        messages = list(result.messages)
        await self._count(ch.name, sender, messages, typed)
        queued = any(m.get("kind") == "handoff_queued" for m in messages)
        if queued and ch.handoff:
            await self.queue(ch.name, sender)
        elif ch.handoff and any(m.get("kind") == "clarify" for m in messages) and await self._failed_twice(sender):
            # the bot did not understand twice in a row: a person takes over if one is signed in
            await self.queue(ch.name, sender, reason="bot_failed")
            messages.append(message_of(Assistant.channel_notice(
                "handoff_after_failures", minutes=self.settings.handoff_wait_minutes, hotline=self.settings.hotline)))
            queued = True
        if queued and self.held is not None:
            self.held.mark(sender, True)
        return Turn("bot", messages, handoff=queued, message=prepared.message)

    async def send(self, sender: str, message: str, meta: Dict[str, Any]) -> rasa_client.RasaResult:
        """One turn to Rasa, with a turn id in the metadata (the tracker keeps it). If the
        replica died during the turn (nginx moves the conversation to another one), the
        turn is sent once more only when that cannot run it twice: the request never
        reached Rasa, or the shared tracker has no trace of it. When the tracker shows it
        was processed, its replies are taken from there; when the tracker cannot be read,
        the citizen gets the apology and a retry button, as for any outage. The turn id
        and the tracker check are for production mode (``settings.replicated``); with one
        Rasa process only a refused connection is tried again."""
        turn_id = uuid.uuid4().hex
        if self.settings.replicated:  # only there can another replica take the conversation over
            meta = {**meta, rasa_client.TURN_KEY: turn_id}
        token = self.token or None
        timeout = REPLICATED_TURN_TIMEOUT if self.settings.replicated else None
        result = await rasa_client.send(self.http, self.rasa_url, sender, message, meta, token=token,
                                        timeout=timeout)
        if result.retry is None:
            return result
        if result.retry == "lost":
            if not self.settings.replicated:
                return result
            state, done = await rasa_client.turn_outcome(self.http, self.rasa_url, token, sender, turn_id)
            if state == "unknown":  # e.g. nginx between replicas for a moment: look once more
                await asyncio.sleep(self.retry_pause)
                state, done = await rasa_client.turn_outcome(self.http, self.rasa_url, token, sender, turn_id)
            if state == "done" and done is not None:
                logger.warning("the Rasa replica died after the turn: replies read from the tracker")
                return done
            if state != "absent":
                logger.warning("the Rasa replica died during the turn and the tracker cannot tell whether it ran: "
                               "not sent again")
                return result
        self.retried += 1
        logger.warning("turn sent again: the Rasa replica died during it (%s)", result.retry)
        await asyncio.sleep(self.retry_pause)
        again = await rasa_client.send(self.http, self.rasa_url, sender, message, meta, token=token,
                                       timeout=timeout)
        if not again.ok:
            logger.warning("the turn sent again failed too (%s)", again.retry or ("partial" if again.partial else "-"))
        return again

    async def _to_desk(self, sender: str, said: str):
        """True: recorded for the operator serving this conversation; False: for the bot;
        "held": the database is unavailable, kept for the desk; "full": could not even keep it."""
        held = self.held
        if held is not None and self.db_trouble() and held.with_staff(sender):
            return "held" if held.hold(sender, said) else "full"  # no second wait for the lock

        def work() -> bool:
            if held is not None:
                held.flush(self.desk)  # older held messages first
            return self.desk.citizen_says(sender, said)

        try:
            with_staff = await asyncio.to_thread(work)
        except Exception:  # noqa: BLE001 - the desk's database is unavailable
            self.note_db_trouble()
            if held is not None and held.with_staff(sender):
                logger.warning("desk unavailable: citizen message held for the desk")
                return "held" if held.hold(sender, said) else "full"
            logger.warning("handoff desk unavailable")
            return False
        if held is not None:
            held.mark(sender, with_staff)
        return with_staff

    async def _count(self, channel: str, sender: str, messages, question: Optional[str]) -> None:
        """Statistics, and which guides this conversation got (what it may rate)."""
        if self.db_trouble():
            return
        db_url = self.settings.db_url
        services = sorted({m["service"] for m in messages if m.get("kind") in GUIDE_KINDS and m.get("service")})

        def work() -> None:
            stats.record(db_url, channel, messages)
            for service in services:
                ReviewDesk(db_url).guide_sent(sender, service, question)

        try:
            await asyncio.to_thread(work)
        except Exception:  # noqa: BLE001 - statistics never get in the citizen's way
            self.note_db_trouble()
            logger.warning("question not counted")

    async def _failed_twice(self, sender: str) -> bool:
        return await handoff.failed_twice_with_staff(self.http, self.rasa_url, self.token, self.settings.db_url,
                                                     sender)

    async def queue(self, channel: str, sender: str, reason: str = "asked") -> None:
        await handoff.queue_conversation(self.http, self.rasa_url, self.token, self.desk, channel, sender,
                                         reason=reason)

    # -- around the turn -------------------------------------------------------------------------
    async def staff_messages(self, sender: str, mark: bool = True) -> List[Dict[str, Any]]:
        """Operator and system messages not yet delivered; kind = author. Marked delivered
        unless ``mark`` is False: then the caller confirms with ``staff_delivered`` once
        the messages are out (a push that can fail must not lose them)."""
        lines = await asyncio.to_thread(self.desk.undelivered, sender, mark)
        return [{"text": line.text, "html": html.escape(line.text, quote=False), "buttons": [],
                 "kind": line.author, "service": None, "id": line.id} for line in lines]

    async def staff_delivered(self, messages: List[Dict[str, Any]]) -> None:
        await asyncio.to_thread(self.desk.mark_delivered, [m.get("id") for m in messages])

    async def senders_with_news(self, channel: str) -> List[str]:
        """For channels that push: their conversations with operator messages to deliver,
        after closing the handoffs nobody took in time (the citizen gets the hotline)."""
        from datetime import timedelta

        notice_ = handoff.timeout_notice(self.catalog, self.settings.hotline)
        await asyncio.to_thread(self.desk.expire, timedelta(minutes=self.settings.handoff_wait_minutes), notice_)
        return await asyncio.to_thread(self.desk.senders_with_news, channel)

    async def restart(self, sender: str) -> bool:
        return await rasa_client.restart(self.http, self.rasa_url, sender)

    async def rate_sent(self, channel: str, sender: str, service: str, helpful: bool) -> str:
        """A rating of a guide this conversation got, once: "ok", "already_rated", or a refusal."""
        return await asyncio.to_thread(ReviewDesk(self.settings.db_url).rate_sent, channel, sender, service,
                                       helpful)

    async def rate(self, channel: str, service: str, helpful: bool, question: Optional[str] = None) -> bool:
        """A rating from a button that names the service (Telegram): False for an unknown service."""
        def save() -> bool:
            if self.catalog.service(service) is None:
                return False
            ReviewDesk(self.settings.db_url).rate(channel, service, helpful, question)
            return True

        return await asyncio.to_thread(save)

    async def throttled(self, key: str, per_minute: int) -> bool:
        """A hit on a database counter shared by every process (bot.throttle); True when over
        the limit. The database being unavailable lets the message through."""
        from datetime import timedelta

        from .throttle import Throttle

        try:
            verdict = await asyncio.to_thread(Throttle(self.settings.db_url).hit, key, per_minute,
                                              timedelta(minutes=1))
        except Exception:  # noqa: BLE001 - no counting is better than no service
            self.note_db_trouble()
            return False
        return not verdict.allowed
