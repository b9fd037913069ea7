"""The web chat: a static page plus ``POST /api/chat``, a proxy to Rasa's REST channel.

The proxy keeps the page on one origin, checks what the browser sends (see
``bot.channel_input``) and answers with an apology and the hotline number when
Rasa or the action server is down (or failed in the middle of a turn), so the page
never shows an error dump.

The conversation is a server-issued HttpOnly cookie (``bot.web.conversation``),
never a sender id chosen by the page or written in a URL.

    POST /api/chat  {"text": "..."} | {"payload": "/intent{...}"} | {"entry": "<QR entry point id>"}
    -> 200 {"ok": true|false, "retry"?: true, "handoff"?: bool,
            "messages": [{"text", "html", "buttons", "kind", "service"}]}
    -> 429 {"ok": false, "messages": [...]}   too many messages from this client or conversation
    GET  /api/chat/updates                   operator messages during a live handoff
    POST /api/feedback {"service", "helpful"} only for a guide sent to this conversation, once
    GET  /healthz                            {"ok", "checks": {"database", "rasa"}}, 503 when one is down
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from sqlalchemy import select

from .. import entry, handoff, rasa_client, stats
from ..assistant import Assistant, Reply
from ..catalog import models
from ..catalog.db import session_scope
from ..catalog.queries import Catalog
from ..channel_input import Prepared, prepare_payload, prepare_text
from ..config import Settings
from ..handoff import HandoffDesk
from ..review import ReviewDesk
from . import conversation, guard, maintenance
from .held import HeldMessages

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 16 * 1024
HEALTH_TIMEOUT = ClientTimeout(total=2)
HELD_NOTICE = "您的消息已收到，工作人员会尽快回复您，请稍候。"
HELD_FULL = "抱歉，系统暂时繁忙，您的消息没能送达工作人员。请稍后再发一次，如有急事请拨打热线 {hotline}。"


def reply_message(reply: Reply) -> Dict[str, Any]:
    return {
        "text": reply.text,
        "html": reply.html,
        "buttons": [b.as_dict() for b in reply.buttons],
        "kind": reply.kind,
        "service": reply.service,
    }


def notice(text: str, kind: str) -> Dict[str, Any]:
    return {"text": text, "html": html.escape(text, quote=False), "buttons": [], "kind": kind, "service": None}


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def healthz(request: web.Request) -> web.Response:
    """Each dependency checked for real: a query on the catalogue, Rasa's root URL."""
    settings: Settings = request.app["settings"]

    def database() -> None:
        with session_scope(settings.db_url) as s:
            s.execute(select(models.Service.code).limit(1)).all()

    checks = {}
    try:
        await asyncio.wait_for(asyncio.to_thread(database), timeout=5)
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means down
        checks["database"] = "down"
    try:
        async with request.app["http"].get(f"{request.app['rasa_url']}/", timeout=HEALTH_TIMEOUT) as resp:
            checks["rasa"] = "ok" if resp.status == 200 else "down"
    except (ClientError, asyncio.TimeoutError):
        checks["rasa"] = "down"
    ok = all(v == "ok" for v in checks.values())
    return web.json_response({"ok": ok, "checks": checks}, status=200 if ok else 503,
                             headers={"Cache-Control": "no-store"})


def _respond(request: web.Request, conv: str, data: Dict[str, Any], status: int = 200) -> web.Response:
    resp = web.json_response(data, status=status, headers={"Cache-Control": "no-store"})
    conversation.touch(resp, request, conv)
    return resp


async def chat(request: web.Request) -> web.Response:
    settings: Settings = request.app["settings"]
    try:
        body = await request.json()
    except guard.BAD_JSON:
        return web.json_response({"ok": False, "error": "invalid JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"ok": False, "error": "invalid request"}, status=400)
    conv, new = conversation.ensure(request)
    sender_id = conversation.sender_id(conv)
    verdict = await guard.over_limit(request, "chat", None if new else conv)
    if verdict is not None:
        return _respond(request, conv, {"ok": False, "messages": [notice(guard.too_fast_text(verdict),
                                                                         "rate_limited")]}, status=429)

    if body.get("entry") is not None:
        # A QR code: open on its service and office; anything unknown gets the normal welcome.
        catalog = request.app["catalog"]
        try:
            message = await asyncio.to_thread(entry.rasa_message, catalog, body.get("entry"))
        except Exception:  # catalogue down: still greet, the guide will apologise later
            logger.warning("entry point lookup failed", exc_info=False)
            message = None
        prepared = Prepared(message or "/greet")
    elif body.get("payload") is not None:
        prepared = prepare_payload(str(body.get("payload")))
    else:
        text = body.get("text")
        prepared = prepare_text(text if isinstance(text, str) else "")
    if prepared.message is None:
        local = reply_message(Assistant.for_problem(prepared.problem))
        return _respond(request, conv, {"ok": True, "messages": [local]})

    typed = body.get("text") if isinstance(body.get("text"), str) and body.get("payload") is None \
        and body.get("entry") is None else None
    said = typed if typed is not None else prepared.message
    desk: HandoffDesk = request.app["desk"]
    with_staff = await _to_desk(request, sender_id, said)
    if with_staff == "held":
        return _respond(request, conv, {"ok": True, "handoff": True, "messages": [notice(HELD_NOTICE, "held")]})
    if with_staff == "full":
        text = HELD_FULL.format(hotline=settings.hotline)
        return _respond(request, conv, {"ok": False, "retry": True, "handoff": True,
                                        "messages": [notice(text, "unavailable")]})
    if with_staff:  # a person is serving this conversation: the bot stays silent
        try:
            staff = await _staff_messages(desk, sender_id)
        except Exception:  # noqa: BLE001 - delivered at the next poll
            staff = []
        return _respond(request, conv, {"ok": True, "handoff": True, "messages": staff})

    metadata = {"channel": "web", "client": guard.client_of(request)}
    result = await rasa_client.send(request.app["http"], request.app["rasa_url"], sender_id,
                                    prepared.message, metadata, token=settings.rasa_token)
    if not result.ok:
        apology = Assistant.unavailable(settings.hotline)
        return _respond(request, conv, {"ok": False, "retry": True, "messages": [reply_message(apology)]})
    messages = result.messages
    await _count(request, sender_id, messages, typed)
    queued = any(m.get("kind") == "handoff_queued" for m in messages)
    if queued:
        await handoff.queue_conversation(request.app["http"], request.app["rasa_url"], settings.rasa_token,
                                         desk, "web", sender_id)
    elif any(m.get("kind") == "clarify" for m in messages) and await _failed_twice(request, sender_id):
        # the bot did not understand twice in a row: a person takes over if one is signed in
        await handoff.queue_conversation(request.app["http"], request.app["rasa_url"], settings.rasa_token,
                                         desk, "web", sender_id, reason="bot_failed")
        notice_ = Assistant.channel_notice("handoff_after_failures", minutes=settings.handoff_wait_minutes,
                                           hotline=settings.hotline)
        messages = [*messages, reply_message(notice_)]
        queued = True
    if queued:
        request.app["held"].mark(sender_id, True)
    return _respond(request, conv, {"ok": True, "handoff": queued, "messages": messages})


async def _to_desk(request: web.Request, sender_id: str, said: str):
    """True: recorded for the operator serving this conversation; False: for the bot;
    "held": the database is unavailable, kept for the desk; "full": could not even keep it."""
    held: HeldMessages = request.app["held"]
    desk: HandoffDesk = request.app["desk"]
    if guard.db_trouble(request.app) and held.with_staff(sender_id):
        return "held" if held.hold(sender_id, said) else "full"  # no second wait for the lock

    def work() -> bool:
        held.flush(desk)  # older held messages first
        return desk.citizen_says(sender_id, said)

    try:
        with_staff = await asyncio.to_thread(work)
    except Exception:  # noqa: BLE001 - the desk's database is unavailable
        guard.note_db_trouble(request.app)
        if held.with_staff(sender_id):
            logger.warning("desk unavailable: citizen message held for the desk")
            return "held" if held.hold(sender_id, said) else "full"
        logger.warning("handoff desk unavailable")
        return False
    held.mark(sender_id, with_staff)
    return with_staff


async def _count(request: web.Request, sender_id: str, messages, question: Optional[str]) -> None:
    """Statistics, and which guides this conversation got (what it may rate)."""
    if guard.db_trouble(request.app):
        return
    db_url = request.app["settings"].db_url
    services = sorted({m["service"] for m in messages if m.get("kind") in ("guide", "section") and m.get("service")})

    def work() -> None:
        stats.record(db_url, "web", messages)
        for service in services:
            ReviewDesk(db_url).guide_sent(sender_id, service, question)

    try:
        await asyncio.to_thread(work)
    except Exception:  # noqa: BLE001 - statistics never get in the citizen's way
        guard.note_db_trouble(request.app)
        logger.warning("question not counted")


async def _failed_twice(request: web.Request, sender_id: str) -> bool:
    settings: Settings = request.app["settings"]
    return await handoff.failed_twice_with_staff(request.app["http"], request.app["rasa_url"], settings.rasa_token,
                                                 settings.db_url, sender_id)


async def _staff_messages(desk: HandoffDesk, sender_id: str) -> List[Dict[str, Any]]:
    lines = await asyncio.to_thread(desk.undelivered, sender_id)
    return [{"text": line.text, "html": html.escape(line.text, quote=False), "buttons": [], "kind": line.author,
             "service": None} for line in lines]


async def feedback(request: web.Request) -> web.Response:
    """有帮助 / 没帮助 under a guide: {"service", "helpful"}, for a guide this conversation got."""
    try:
        body = await request.json()
    except guard.BAD_JSON:
        return web.json_response({"ok": False, "error": "invalid JSON"}, status=400)
    if not isinstance(body, dict) or not isinstance(body.get("helpful"), bool) \
            or not isinstance(body.get("service"), str) or not 0 < len(body["service"]) <= 64:
        return web.json_response({"ok": False, "error": "invalid feedback"}, status=400)
    conv = conversation.current(request)
    if conv is None:
        return web.json_response({"ok": False, "error": "no conversation"}, status=400)
    verdict = await guard.over_limit(request, "feedback", conv)
    if verdict is not None:
        return web.json_response({"ok": False, "error": "too many requests"}, status=429,
                                 headers={"Retry-After": str(verdict.retry_after_seconds)})
    db_url = request.app["settings"].db_url
    outcome = await asyncio.to_thread(ReviewDesk(db_url).rate_sent, "web", conversation.sender_id(conv),
                                      body["service"], body["helpful"])
    status = {"ok": 200, "already_rated": 409}.get(outcome, 400)
    return web.json_response({"ok": outcome == "ok"} if outcome == "ok" else {"ok": False, "error": outcome},
                             status=status)


async def updates(request: web.Request) -> web.Response:
    """Polled by the page while a person serves the conversation (the cookie says which)."""
    conv = conversation.current(request)
    if conv is None:
        return web.json_response({"ok": True, "handoff": False, "messages": []}, headers={"Cache-Control": "no-store"})
    sender_id = conversation.sender_id(conv)
    desk: HandoffDesk = request.app["desk"]
    try:
        messages = await _staff_messages(desk, sender_id)
        open_ = await asyncio.to_thread(desk.open_for, sender_id)
    except Exception:  # noqa: BLE001 - try again at the next poll
        return web.json_response({"ok": False, "handoff": request.app["held"].with_staff(sender_id),
                                  "messages": []}, headers={"Cache-Control": "no-store"})
    request.app["held"].mark(sender_id, open_ is not None)
    resp = web.json_response({"ok": True, "handoff": open_ is not None, "messages": messages},
                             headers={"Cache-Control": "no-store"})
    if open_ is not None:  # a person is talking to this citizen: the conversation is alive
        conversation.touch(resp, request, conv)
    return resp


@web.middleware
async def security_headers(request: web.Request, handler):
    resp = await handler(request)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
    )
    return resp


def _background(app: web.Application, name: str, factory) -> None:
    async def start(app: web.Application) -> None:
        app[name] = asyncio.create_task(factory(app))

    async def stop(app: web.Application) -> None:
        app[name].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app[name]

    app.on_startup.append(start)
    app.on_cleanup.insert(0, stop)


def create_app(rasa_url: str, settings: Settings | None = None, purge_every: float = maintenance.PURGE_EVERY,
               flush_every: float = maintenance.FLUSH_EVERY) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[security_headers, guard.database_errors])
    app["settings"] = settings or Settings.from_env()
    app["rasa_url"] = rasa_url.rstrip("/")
    app["catalog"] = Catalog(app["settings"].db_url, app["settings"].hotline)
    app["desk"] = HandoffDesk(app["settings"].db_url)
    app["held"] = HeldMessages()

    async def open_http(app: web.Application) -> None:
        app["http"] = ClientSession(timeout=ClientTimeout(total=30, connect=3))

    async def close_http(app: web.Application) -> None:
        await app["http"].close()

    app.on_startup.append(open_http)
    app.on_cleanup.append(close_http)
    _background(app, "expiry", lambda app: handoff.expiry_loop(app["desk"], app["settings"], catalog=app["catalog"]))
    _background(app, "purge", lambda app: maintenance.purge_loop(app["settings"].db_url, every=purge_every))
    _background(app, "flush", lambda app: maintenance.flush_loop(app["held"], app["desk"], every=flush_every))
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/chat/updates", updates)
    app.router.add_post("/api/feedback", feedback)
    app.router.add_static("/static/", STATIC)
    from ..console import web as console_web

    console_web.setup(app, app["settings"].db_url)
    return app


def main(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run_app(create_app(args.rasa_url), host=args.host, port=args.port, print=None,
                access_log_class=guard.AccessLogger)
    return 0
