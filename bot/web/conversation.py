"""The web chat's conversation id: a server-issued cookie, never chosen by the page.

The cookie (``minzheng_chat``, HttpOnly, SameSite=Strict, Secure when
``settings.secure_cookies``, path ``/api/``) holds a random conversation id, the
time of the citizen's last message and a keyed signature of both. The Rasa sender
is ``web-<id>``. A conversation ends after ``IDLE`` without a message: the cookie
expires in the browser and the server refuses an older one, so the next citizen at
a shared kiosk starts a new conversation. The id never appears in a URL (so not in
access logs) and the page's script cannot read it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import timedelta
from typing import Optional, Tuple

from aiohttp import web

COOKIE = "minzheng_chat"
IDLE = timedelta(minutes=30)
PATH = "/api/"
VALUE = re.compile(r"^([A-Za-z0-9_-]{8,64})\.([0-9]{1,12})\.([0-9a-f]{32})$")


def _sign(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]


def issue(conversation: str, secret: str, now: Optional[float] = None) -> str:
    body = f"{conversation}.{int(now if now is not None else time.time())}"
    return f"{body}.{_sign(secret, body)}"


def read(value: Optional[str], secret: str, now: Optional[float] = None, idle: timedelta = IDLE) -> Optional[str]:
    """The conversation id in a cookie value, or None (absent, forged, or idle too long)."""
    match = VALUE.match(value or "")
    if match is None:
        return None
    conversation, stamp, signature = match.groups()
    if not hmac.compare_digest(signature, _sign(secret, f"{conversation}.{stamp}")):
        return None
    age = (now if now is not None else time.time()) - int(stamp)
    if age < -60 or age > idle.total_seconds():
        return None
    return conversation


def current(request: web.Request) -> Optional[str]:
    """The request's conversation, if it has a valid one."""
    return read(request.cookies.get(COOKIE), request.app["settings"].client_secret)


def ensure(request: web.Request) -> Tuple[str, bool]:
    """(conversation id, True when it is new)."""
    existing = current(request)
    if existing is not None:
        return existing, False
    return secrets.token_urlsafe(18), True


def sender_id(conversation: str) -> str:
    return f"web-{conversation}"


def touch(response: web.StreamResponse, request: web.Request, conversation: str) -> None:
    """(Re)issue the cookie: the idle time counts from now."""
    settings = request.app["settings"]
    response.set_cookie(COOKIE, issue(conversation, settings.client_secret), max_age=int(IDLE.total_seconds()),
                        path=PATH, httponly=True, samesite="Strict", secure=bool(settings.secure_cookies))
