"""The web chat: a static page plus ``POST /api/chat``, a proxy to Rasa's REST channel.

The proxy keeps the page on one origin, checks what the browser sends (see
``bot.channel_input``) and answers with an apology and the hotline number when
Rasa or the action server is down (or failed in the middle of a turn), so the page
never shows an error dump.

The conversation is a server-issued HttpOnly cookie (``bot.web.conversation``),
never a sender id chosen by the page or written in a URL.

The page's first message, the welcome, is the domain's (``Assistant.welcome``: the
catalogue's domains and its ``menu`` services as buttons), embedded in the page as a
``<script type="application/json">`` block, which the CSP allows since it never runs:
no request before the citizen sees it. When the catalogue cannot be read the page
carries the last welcome this process built, else ``Assistant.basic_welcome``.

    GET  /                                   the chat page, with the welcome
    POST /api/chat  {"text": "..."} | {"payload": "/intent{...}"} | {"entry": "<QR entry point id>"}
    -> 200 {"ok": true|false, "retry"?: true, "handoff"?: bool,
            "messages": [{"text", "html", "buttons", "kind", "service"}]}
    -> 429 {"ok": false, "messages": [...]}   too many messages from this client or conversation
    GET  /api/chat/updates                   operator messages during a live handoff
    POST /api/feedback {"service", "helpful"} only for a guide sent to this conversation, once
    GET|POST /wechat                         the WeChat Official Account (bot.wechat), when configured
    GET  /healthz                            {"ok", "checks": {"database", "rasa"}}, 503 when one is down
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any, Dict, Optional

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from sqlalchemy import select

from .. import handoff
from ..assistant import Assistant
from ..catalog import models
from ..catalog.db import session_scope
from ..catalog.queries import Catalog, CatalogUnavailable
from ..config import Settings
from ..gateway import HELD_FULL, HELD_NOTICE, Gateway, Said, message_of, notice  # noqa: F401 - re-exported
from ..handoff import HandoffDesk
from . import conversation, guard, maintenance
from .held import held_store

logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 16 * 1024
HEALTH_TIMEOUT = ClientTimeout(total=2)
CHANNEL = "web"  # its entry in bot.channels
# where index.html carries the welcome; the page as a plain file (null) uses chat.js's fallback
WELCOME_SLOT = '<script id="welcome-data" type="application/json">null</script>'
WELCOME_TIMEOUT = 2.0  # seconds the page waits for the catalogue before using a fallback welcome
WELCOME_BACKOFF = 10.0  # after a slow catalogue, seconds the pages do not ask it again


reply_message = message_of  # the gateway's message dicts are the page's JSON


def welcome_block(message: Dict[str, Any]) -> str:
    """The welcome as a JSON data block. ``<``, ``>`` and ``&`` are escaped (JSON.parse reads
    them back), so no content can close the block or open markup in the page."""
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return WELCOME_SLOT.replace(">null<", f">{data}<")


async def welcome_message(app: web.Application) -> Dict[str, Any]:
    """``Assistant.welcome`` from the catalogue; when that cannot be read (not loaded, the
    database down or slow), the last one built, else the basic welcome (我能办什么 only)."""
    if not guard.db_trouble(app) and time.monotonic() >= app["welcome"].get("slow_until", 0.0):
        try:
            reply = await asyncio.wait_for(asyncio.to_thread(app["assistant"].welcome), timeout=WELCOME_TIMEOUT)
            app["welcome"]["last"] = message_of(reply)
        except CatalogUnavailable:
            logger.warning("catalogue not loaded: the page gets the basic welcome")
        except asyncio.TimeoutError:  # slow, not down: pages take the last welcome for a while
            # (the worker thread may still be waiting on the database: no second one meanwhile)
            app["welcome"]["slow_until"] = time.monotonic() + WELCOME_BACKOFF
            logger.warning("catalogue slow for the welcome: the page gets the last one built")
        except Exception:  # noqa: BLE001 - database down: the page must still open
            guard.note_db_trouble(app)
            logger.warning("catalogue unavailable for the welcome")
    return app["welcome"]["last"] or message_of(Assistant.basic_welcome())


async def index(request: web.Request) -> web.StreamResponse:
    """The chat page with the welcome in it; revalidated on every visit (ETag)."""
    page = request.app["page"].replace(WELCOME_SLOT, welcome_block(await welcome_message(request.app)))
    body = page.encode("utf-8")
    etag = hashlib.sha256(body).hexdigest()[:32]
    headers = {"Cache-Control": "no-cache", "ETag": f'"{etag}"'}
    if any(tag.value == etag for tag in request.if_none_match or ()):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=headers)


def load_page() -> str:
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    if page.count(WELCOME_SLOT) != 1:
        raise RuntimeError(f"{STATIC / 'index.html'} must contain {WELCOME_SLOT} once")
    return page


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
    """The page's wire format to and from the gateway (bot.gateway), which runs the turn."""
    try:
        body = await request.json()
    except guard.BAD_JSON:
        return web.json_response({"ok": False, "error": "invalid JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"ok": False, "error": "invalid request"}, status=400)
    conv, new = conversation.ensure(request)
    sender_id = conversation.sender_id(conv)

    async def limit() -> Optional[str]:
        verdict = await guard.over_limit(request, "chat", None if new else conv)
        return None if verdict is None else guard.too_fast_text(verdict)

    if body.get("entry") is not None:
        said = Said.entry(body.get("entry"))
    elif body.get("payload") is not None:
        said = Said.payload(str(body.get("payload")))
    else:
        said = Said.text(body.get("text") if isinstance(body.get("text"), str) else "")
    gateway: Gateway = request.app["gateway"]
    turn = await gateway.converse(CHANNEL, sender_id, said, {"client": guard.client_of(request)}, limit=limit)
    if turn.status == "rate_limited":
        return _respond(request, conv, {"ok": False, "messages": turn.messages}, status=429)
    if turn.status == "local":
        return _respond(request, conv, {"ok": True, "messages": turn.messages})
    if turn.status in ("held", "staff"):
        return _respond(request, conv, {"ok": True, "handoff": True, "messages": turn.messages})
    if turn.status == "full":
        return _respond(request, conv, {"ok": False, "retry": True, "handoff": True, "messages": turn.messages})
    if turn.status == "unavailable":
        return _respond(request, conv, {"ok": False, "retry": True, "messages": turn.messages})
    return _respond(request, conv, {"ok": True, "handoff": turn.handoff, "messages": turn.messages})


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
    outcome = await request.app["gateway"].rate_sent(CHANNEL, conversation.sender_id(conv), body["service"],
                                                     body["helpful"])
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
        messages = await request.app["gateway"].staff_messages(sender_id)
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


def create_app(rasa_url: str, settings: Settings | None = None,
               purge_every: float | None = maintenance.PURGE_EVERY,
               flush_every: float = maintenance.FLUSH_EVERY) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[security_headers, guard.database_errors])
    app["settings"] = settings or Settings.from_env()
    app["rasa_url"] = rasa_url.rstrip("/")
    app["catalog"] = Catalog(app["settings"].db_url, app["settings"].hotline)
    app["assistant"] = Assistant(app["catalog"])
    app["page"] = load_page()
    app["welcome"] = {"last": None}  # the last welcome built from the catalogue
    app["desk"] = HandoffDesk(app["settings"].db_url)
    app["held"] = held_store(app["settings"])
    app["gateway"] = Gateway(app["settings"], app["rasa_url"], catalog=app["catalog"], desk=app["desk"],
                             held=app["held"], http=lambda: app["http"], trouble=lambda: guard.db_trouble(app),
                             note_trouble=lambda: guard.note_db_trouble(app))

    async def open_http(app: web.Application) -> None:
        app["http"] = ClientSession(timeout=ClientTimeout(total=30, connect=3))

    async def close_http(app: web.Application) -> None:
        await app["http"].close()

    app.on_startup.append(open_http)
    app.on_cleanup.append(close_http)
    _background(app, "expiry", lambda app: handoff.expiry_loop(app["desk"], app["settings"], catalog=app["catalog"]))
    if purge_every is not None:  # None: no purge (tests whose clock is not the real one)
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
    if app["settings"].wechat_enabled:  # the Official Account's endpoint, on the one public port
        from ..wechat import app as wechat_app

        wechat_app.setup(app, app["settings"], app["gateway"])
    return app


def main(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    web.run_app(create_app(args.rasa_url), host=args.host, port=args.port, print=None,
                access_log_class=guard.AccessLogger)
    return 0
