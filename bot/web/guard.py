"""What keeps the web chat usable for everyone: per-client and per-conversation rate
limits (``bot.throttle``), a clear 503 instead of a 500 when the database is
unavailable, and an access log that never contains a query string, a cookie or a
raw client address."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Dict, Optional, Tuple

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy.exc import DBAPIError, OperationalError

from ..client import client_address, client_key
from ..throttle import Throttle, Verdict

logger = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
# (limit per client address, limit per conversation) per minute. A family or an office
# behind one NAT address shares the client limit, hence the larger number.
LIMITS: Dict[str, Tuple[int, int]] = {"chat": (120, 30), "feedback": (30, 10)}
DB_UNAVAILABLE = "数据库暂时不可用，请稍后重试"
# what a malformed request body raises in request.json(): bad JSON, bad UTF-8, or
# nesting too deep for the parser (RecursionError) — each answered with a 400
BAD_JSON = (ValueError, UnicodeDecodeError, RecursionError)
TROUBLE_SECONDS = 10.0  # after a database failure, skip optional database work this long


def client_of(request: web.Request) -> str:
    """The keyed hash of the client's address (``X-Forwarded-For`` only from trusted proxies)."""
    if "client" not in request:
        settings = request.app["settings"]
        address = client_address(request.remote, request.headers, settings.trusted_proxies)
        request["client"] = client_key(address, settings.client_secret)
    return request["client"]


def db_trouble(app: web.Application) -> bool:
    return app.get("db_trouble_until", 0.0) > time.monotonic()


def note_db_trouble(app: web.Application) -> None:
    app["db_trouble_until"] = time.monotonic() + TROUBLE_SECONDS


async def over_limit(request: web.Request, what: str, conversation: Optional[str]) -> Optional[Verdict]:
    """A hit for the client and the conversation; the refusing verdict when one is over its
    limit, else None. The database being unavailable lets the request through (logged)."""
    settings = request.app["settings"]
    per_client, per_conversation = LIMITS[what]
    throttle = Throttle(settings.db_url)
    keys = [(f"web{what}:c:{client_of(request)}", per_client)]
    if conversation:
        keys.append((f"web{what}:s:{client_key(conversation, settings.client_secret)}", per_conversation))

    def hit() -> Optional[Verdict]:
        for key, limit in keys:
            verdict = throttle.hit(key, limit, MINUTE)
            if not verdict.allowed:
                return verdict
        return None

    try:
        return await asyncio.to_thread(hit)
    except Exception:  # noqa: BLE001 - no counting is better than no service
        note_db_trouble(request.app)
        logger.warning("rate limit not counted (database unavailable)")
        return None


def too_fast_text(verdict: Verdict) -> str:
    return f"您发送得太快了，请稍后再试（约{verdict.retry_after_minutes}分钟后）。如有急事，请拨打政务服务便民热线。"


@web.middleware
async def database_errors(request: web.Request, handler):
    """The database down or locked for too long: 503 with a clear message, never a 500."""
    try:
        return await handler(request)
    except (OperationalError, DBAPIError):
        note_db_trouble(request.app)
        logger.warning("database unavailable for %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return web.json_response({"ok": False, "error": DB_UNAVAILABLE}, status=503,
                                     headers={"Cache-Control": "no-store", "Retry-After": "5"})
        return web.Response(text=f"{DB_UNAVAILABLE}。", status=503, content_type="text/plain",
                            charset="utf-8", headers={"Retry-After": "5"})


class AccessLogger(AbstractAccessLogger):
    """Method, path without the query string, status, size and time; the client as its
    keyed hash. Never the query string (it may carry an entry id or, in old pages, the
    conversation), never a cookie, never a raw address."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, elapsed: float) -> None:
        try:
            client = client_of(request)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - a log line must never fail a request
            client = "-"
        self.logger.info('%s "%s %s" %s %s %.3fs', client, request.method, request.path, response.status,
                         response.body_length, elapsed)
