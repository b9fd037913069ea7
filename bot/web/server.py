"""The web chat: a static page plus ``POST /api/chat``, a proxy to Rasa's REST channel.

The proxy keeps the page on one origin, checks what the browser sends (see
``bot.channel_input``) and answers with an apology and the hotline number when
Rasa or the action server is down, so the page never shows an error dump.

    POST /api/chat  {"sender": "<8-64 chars [A-Za-z0-9_-]>", "text": "..."}
                 or {"sender": "...", "payload": "/intent{...}"}
                 or {"sender": "...", "entry": "<QR entry point id>"}  (page opened as /?entry=<id>)
    -> 200 {"ok": true|false, "messages": [{"text", "html", "buttons", "kind", "service"}]}
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
from pathlib import Path
from typing import Any, Dict, List

from aiohttp import ClientSession, ClientTimeout, web

from .. import entry, handoff, rasa_client, stats
from ..assistant import Assistant, Reply
from ..catalog.queries import Catalog
from ..channel_input import Prepared, prepare_payload, prepare_text
from ..config import Settings
from ..handoff import HandoffDesk
from ..review import ReviewDesk

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
SENDER = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_BODY = 16 * 1024


def reply_message(reply: Reply) -> Dict[str, Any]:
    return {
        "text": reply.text,
        "html": reply.html,
        "buttons": [b.as_dict() for b in reply.buttons],
        "kind": reply.kind,
        "service": reply.service,
    }


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def chat(request: web.Request) -> web.Response:
    settings: Settings = request.app["settings"]
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"ok": False, "error": "invalid JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"ok": False, "error": "invalid request"}, status=400)
    sender = body.get("sender")
    if not isinstance(sender, str) or not SENDER.match(sender):
        return web.json_response({"ok": False, "error": "invalid sender"}, status=400)

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
        return web.json_response({"ok": True, "messages": [reply_message(Assistant.for_problem(prepared.problem))]})

    sender_id = f"web-{sender}"
    desk: HandoffDesk = request.app["desk"]
    said = body.get("text") if isinstance(body.get("text"), str) else prepared.message
    try:
        with_staff = await asyncio.to_thread(desk.citizen_says, sender_id, said)
    except Exception:  # noqa: BLE001 - the desk's database is down: the bot answers
        logger.warning("handoff desk unavailable")
        with_staff = False
    if with_staff:  # a person is serving this conversation: the bot stays silent
        return web.json_response({"ok": True, "handoff": True, "messages": await _staff_messages(desk, sender_id)})

    result = await rasa_client.send(request.app["http"], request.app["rasa_url"], sender_id,
                                    prepared.message, {"channel": "web"})
    if not result.ok:
        apology = Assistant.unavailable(settings.hotline)
        return web.json_response({"ok": False, "retry": True, "messages": [reply_message(apology)]})
    messages = result.messages
    await _count(settings.db_url, "web", messages)
    queued = any(m.get("kind") == "handoff_queued" for m in messages)
    if queued:
        await handoff.queue_conversation(request.app["http"], request.app["rasa_url"], settings.rasa_token,
                                         desk, "web", sender_id)
    elif any(m.get("kind") == "clarify" for m in messages) and await _failed_twice(request, sender_id):
        # the bot did not understand twice in a row: a person takes over if one is signed in
        await handoff.queue_conversation(request.app["http"], request.app["rasa_url"], settings.rasa_token,
                                         desk, "web", sender_id, reason="bot_failed")
        notice = Assistant.channel_notice("handoff_after_failures", minutes=settings.handoff_wait_minutes,
                                          hotline=settings.hotline)
        messages = [*messages, reply_message(notice)]
        queued = True
    return web.json_response({"ok": True, "handoff": queued, "messages": messages})


async def _count(db_url: str, channel: str, messages) -> None:
    try:
        await asyncio.to_thread(stats.record, db_url, channel, messages)
    except Exception:  # noqa: BLE001 - statistics never get in the citizen's way
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
    """有帮助 / 没帮助 under a guide: {"sender", "service", "helpful", "question"?}."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"ok": False, "error": "invalid JSON"}, status=400)
    if not isinstance(body, dict) or not SENDER.match(str(body.get("sender", ""))) \
            or not isinstance(body.get("helpful"), bool) or not isinstance(body.get("service"), str):
        return web.json_response({"ok": False, "error": "invalid feedback"}, status=400)
    question = body.get("question") if isinstance(body.get("question"), str) else None
    catalog = request.app["catalog"]
    settings: Settings = request.app["settings"]

    def save() -> bool:
        if catalog.service(body["service"]) is None:
            return False
        ReviewDesk(settings.db_url).rate("web", body["service"], body["helpful"], (question or "")[:1000] or None)
        return True

    try:
        ok = await asyncio.to_thread(save)
    except Exception:  # noqa: BLE001 - a lost rating must not bother the citizen
        logger.warning("feedback not recorded")
        return web.json_response({"ok": False})
    return web.json_response({"ok": ok}, status=200 if ok else 400)


async def updates(request: web.Request) -> web.Response:
    """Polled by the page while a person serves the conversation."""
    sender = request.query.get("sender", "")
    if not SENDER.match(sender):
        return web.json_response({"ok": False, "error": "invalid sender"}, status=400)
    desk: HandoffDesk = request.app["desk"]
    try:
        messages = await _staff_messages(desk, f"web-{sender}")
        open_ = await asyncio.to_thread(desk.open_for, f"web-{sender}")
    except Exception:  # noqa: BLE001
        return web.json_response({"ok": False, "handoff": False, "messages": []})
    return web.json_response({"ok": True, "handoff": open_ is not None, "messages": messages},
                             headers={"Cache-Control": "no-store"})


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


def create_app(rasa_url: str, settings: Settings | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[security_headers])
    app["settings"] = settings or Settings.from_env()
    app["rasa_url"] = rasa_url.rstrip("/")
    app["catalog"] = Catalog(app["settings"].db_url, app["settings"].hotline)

    async def open_http(app: web.Application) -> None:
        app["http"] = ClientSession(timeout=ClientTimeout(total=30, connect=3))

    async def close_http(app: web.Application) -> None:
        await app["http"].close()

    async def start_expiry(app: web.Application) -> None:
        app["expiry"] = asyncio.create_task(handoff.expiry_loop(app["desk"], app["settings"],
                                                                catalog=app["catalog"]))

    async def stop_expiry(app: web.Application) -> None:
        app["expiry"].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app["expiry"]

    app["desk"] = HandoffDesk(app["settings"].db_url)
    app.on_startup.append(open_http)
    app.on_startup.append(start_expiry)
    app.on_cleanup.append(stop_expiry)
    app.on_cleanup.append(close_http)
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
    web.run_app(create_app(args.rasa_url), host=args.host, port=args.port, print=None)
    return 0
