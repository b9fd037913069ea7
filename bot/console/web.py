"""Console routes, served by the web chat server (no extra server to start).

    GET  /console/login          sign-in form (public)
    POST /console/login          name + password -> session cookie, 303 to /console/
    POST /console/logout
    GET  /console/               the console (signed in)
    GET  /console/static/...     the console's CSS (public: no data in it)
    GET  /api/console/me         {"name", "display_name"} (signed in)
    POST /api/console/assist     {"text", "region"?} -> top three services with confidence, the region
    GET  /api/console/guide      ?service=&region=&age= -> the guide (text, html, read_aloud)
    GET  /api/console/queue      conversations waiting for a person (transcripts masked)
    GET  /api/console/handoffs/{id}[?reveal=1]    one conversation (reveal is audited)
    POST /api/console/handoffs/{id}/take | reply {"text"} | finish {"back_to_bot"}

Everything else under /console/ and /api/console/ answers 401 without a valid
session. POSTs must come from the same origin (Origin or Referer header); the cookie
is HttpOnly, SameSite=Strict, and Secure when ``MINZHENG_SECURE_COOKIES`` is on (the
default with an https public address: behind a TLS-terminating proxy the request
itself looks like plain HTTP). Console responses may not be framed (CSP
``frame-ancestors 'none'``, ``X-Frame-Options: DENY``). Bad ids and parameters get a
400 with a JSON error, a database that is briefly unavailable a 503.

Revealing personal data in a handoff is for the operator serving it (``taken_by``)
or a supervisor (``python -m bot staff role NAME supervisor``); others get a 403.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from .. import channels, render, stats
from ..catalog.queries import CatalogUnavailable
from ..client import client_address, client_key
from ..guided.forms import describe_answers
from ..handoff import HandoffDesk, HandoffError
from ..review import ReviewDesk, ReviewError
from ..web.guard import BAD_JSON, DB_UNAVAILABLE
from . import assist as assist_mod
from .auth import Staff, StaffAuth

COOKIE = "mz_staff"
CATALOG_ERRORS = (SQLAlchemyError, CatalogUnavailable, OSError)
logger = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
PUBLIC = {"/console/login"}
AUTH_KEY = web.AppKey("staff_auth", StaffAuth)
CONSOLE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
_ID = re.compile(r"^[0-9]{1,10}$")
MAX_ID = 2**31 - 1
_AGE = re.compile(r"^[0-9]{1,3}$")
REVEAL_REFUSED = {"error": "only the operator serving this conversation or a supervisor may reveal personal data",
                  "message": "只有正在接待该对话的工作人员或主管可以查看完整号码。"}


def _page(template: str, status: int = 200, **context) -> web.Response:
    html = render.environment("html").get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"})


def _same_origin(request: web.Request) -> bool:
    """Browsers send Sec-Fetch-Site, which a page cannot forge; otherwise compare Origin
    (or Referer) with our host. Console pages use ``Referrer-Policy: same-origin`` so that
    the browser does send them."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc == request.host


def _client(request: web.Request) -> str:
    """A keyed hash of the real client address (X-Forwarded-For only from trusted proxies)."""
    settings = request.app["settings"]
    address = client_address(request.remote, request.headers, settings.trusted_proxies)
    return client_key(address, settings.client_secret)


def _bad_request(error: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": error}), content_type="application/json",
                              headers={"Cache-Control": "no-store"})


def _positive_id(raw: str, what: str) -> int:
    """A database id from a URL: 1 to 2**31-1 in ASCII digits, else a 400."""
    if not isinstance(raw, str) or not _ID.match(raw) or not 1 <= int(raw) <= MAX_ID:
        raise _bad_request(f"{what}: a whole number from 1 to {MAX_ID}")
    return int(raw)


def _is_console(path: str) -> bool:
    return path == "/console" or path.startswith("/console/") or path.startswith("/api/console/")


@web.middleware
async def console_guard(request: web.Request, handler):
    """No framing for console responses; a database hiccup is a 503, never a 500."""
    if not _is_console(request.path):
        return await handler(request)
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        _no_framing(exc)
        raise
    except CATALOG_ERRORS as exc:
        logger.error("console %s: database unavailable (%s)", request.path, type(exc).__name__)
        resp = web.json_response({"ok": False, "error": DB_UNAVAILABLE}, status=503,
                                 headers={"Retry-After": "5"})
    _no_framing(resp)
    return resp


def _no_framing(resp) -> None:
    resp.headers["Content-Security-Policy"] = CONSOLE_CSP
    resp.headers["X-Frame-Options"] = "DENY"


async def current_staff(request: web.Request) -> Optional[Staff]:
    auth = request.app[AUTH_KEY]
    return await asyncio.to_thread(auth.session, request.cookies.get(COOKIE))


@web.middleware
async def require_staff(request: web.Request, handler):
    path = request.path
    protected = path.startswith("/api/console/") or (
        path.startswith("/console/") and path not in PUBLIC and not path.startswith("/console/static/"))
    if path == "/console":
        raise web.HTTPFound("/console/")
    if protected:
        staff = await current_staff(request)
        if staff is None:
            if path.startswith("/api/"):
                return web.json_response({"error": "not signed in"}, status=401,
                                         headers={"Cache-Control": "no-store"})
            return _page("console_login.html.j2", status=401, message="请先登录。", name="")
        if request.method not in ("GET", "HEAD") and not _same_origin(request):
            return web.json_response({"error": "cross-origin request refused"}, status=403)
        request["staff"] = staff
    return await handler(request)


async def login_form(request: web.Request) -> web.Response:
    return _page("console_login.html.j2", message=None, name="")


async def login(request: web.Request) -> web.Response:
    if not _same_origin(request):
        return web.json_response({"error": "cross-origin request refused"}, status=403)
    try:
        form = await request.post()
    except web.HTTPException:  # e.g. 413 for a body over the limit
        raise
    except Exception:  # noqa: BLE001 - not UTF-8, a malformed multipart body...: the parser's errors vary
        return _page("console_login.html.j2", status=400, name="", message="无法读取登录表单，请重新填写。")
    name = str(form.get("name", ""))[:64]
    password = str(form.get("password", ""))
    result = await asyncio.to_thread(request.app[AUTH_KEY].login, name, password, _client(request))
    if result.throttled:
        return _page("console_login.html.j2", status=429, name=name,
                     message=f"登录失败次数过多，请{result.retry_after_minutes}分钟后再试。")
    if not result.ok:
        return _page("console_login.html.j2", status=401, name=name, message="账号或密码不正确。")
    resp = web.HTTPSeeOther("/console/")
    secure = request.app["settings"].secure_cookies or request.secure  # on in production (https public address)
    resp.set_cookie(COOKIE, result.token, httponly=True, samesite="Strict", path="/", secure=secure,
                    max_age=int(request.app[AUTH_KEY].max_age.total_seconds()))
    raise resp


async def logout(request: web.Request) -> web.Response:
    await asyncio.to_thread(request.app[AUTH_KEY].logout, request.cookies.get(COOKIE))
    resp = web.HTTPSeeOther("/console/login")
    resp.del_cookie(COOKIE, path="/")
    raise resp


async def home(request: web.Request) -> web.Response:
    return _page("console_home.html.j2", staff=request["staff"])


async def me(request: web.Request) -> web.Response:
    staff: Staff = request["staff"]
    return web.json_response({"name": staff.name, "display_name": staff.display_name},
                             headers={"Cache-Control": "no-store"})


async def assist(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except BAD_JSON:
        return web.json_response({"error": "invalid JSON"}, status=400)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > 2000:
        return web.json_response({"error": "text: 1-2000 characters"}, status=400)
    catalog = request.app["catalog"]
    settings = request.app["settings"]
    parsed = await assist_mod.parse(request.app["http"], request.app["rasa_url"], settings.rasa_token, text)
    if parsed is None:
        return web.json_response({"error": "NLU unavailable", "candidates": []}, status=503)
    region_text = body.get("region") if isinstance(body.get("region"), str) else None
    if region_text is not None and len(region_text) > 64:
        return web.json_response({"error": "region: at most 64 characters"}, status=400)
    try:
        cands, region = await asyncio.to_thread(
            lambda: (assist_mod.candidates(parsed, catalog), assist_mod.region_of(catalog, region_text or text)))
    except CATALOG_ERRORS as exc:
        logger.error("assist: catalogue unavailable (%s)", type(exc).__name__)
        return web.json_response({"error": "catalogue unavailable", "candidates": []}, status=503)
    intent = (parsed.get("intent") or {}).get("name")
    return web.json_response({"intent": intent, "candidates": assist_mod.as_dicts(cands), "region": region},
                             headers={"Cache-Control": "no-store"})


async def guide(request: web.Request) -> web.Response:
    catalog = request.app["catalog"]
    service = request.query.get("service", "")
    region_text = request.query.get("region") or None
    age_raw = request.query.get("age") or None
    caller_text = request.query.get("text", "")
    if len(service) > 100 or (region_text and len(region_text) > 64) or len(caller_text) > 2000:
        return web.json_response({"error": "service, region or text too long"}, status=400)
    if age_raw is not None and not (_AGE.match(age_raw) and int(age_raw) <= 130):
        return web.json_response({"error": "age: a whole number from 0 to 130"}, status=400)
    age = int(age_raw) if age_raw is not None else None

    def build():
        if catalog.service(service) is None:
            return 404, {"error": "unknown service"}
        region = assist_mod.region_of(catalog, region_text) if region_text else None
        if region_text and region is None:
            return 400, {"error": "unknown region"}
        return 200, {**assist_mod.guide(catalog, service, region["code"] if region else None, age, caller_text),
                     "region": region}

    try:
        status, data = await asyncio.to_thread(build)
    except CATALOG_ERRORS as exc:
        logger.error("guide: catalogue unavailable (%s)", type(exc).__name__)
        return web.json_response({"error": "catalogue unavailable"}, status=503)
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


def _names(catalog, understood: dict) -> dict:
    """The bot's understanding in words (service and region names instead of codes)."""
    out = dict(understood)
    try:
        info = catalog.service(understood.get("service")) if understood.get("service") else None
        if info:
            out["service"] = info.name
        if understood.get("region") and catalog.region(understood["region"]):
            out["region"] = catalog.region_index().full_name(understood["region"])
    except Exception:  # noqa: BLE001 - codes are still useful
        pass
    try:
        out["answers"] = describe_answers(understood, lambda c: (catalog.office(c) or None) and catalog.office(c).name)
    except Exception:  # noqa: BLE001 - the codes are still shown
        out["answers"] = describe_answers(understood)
    return out


def _channel_label(name: str) -> str:
    ch = channels.get(name)
    return ch.label if ch is not None and ch.label else name


def _handoff_json(v, catalog=None) -> dict:
    return {
        "id": v.id, "channel": v.channel, "channel_label": _channel_label(v.channel),
        "status": v.status, "reason": v.reason, "understood": v.understood,
        "understood_text": _names(catalog, v.understood) if catalog is not None else v.understood,
        "created_at": v.created_at.isoformat(timespec="seconds"), "waited_seconds": v.waited_seconds,
        "taken_by": v.taken_by,
        "transcript": [{"at": line.at.isoformat(timespec="seconds"), "author": line.author, "text": line.text}
                       for line in v.transcript],
    }


def _desk(request: web.Request) -> HandoffDesk:
    return request.app["desk"]


def _handoff_id(request: web.Request) -> int:
    return _positive_id(request.match_info["hid"], "handoff id")


async def queue(request: web.Request) -> web.Response:
    catalog = request.app["catalog"]
    data = await asyncio.to_thread(lambda: [_handoff_json(v, catalog) for v in _desk(request).queue()])
    return web.json_response({"waiting": data}, headers={"Cache-Control": "no-store"})


async def handoff_detail(request: web.Request) -> web.Response:
    staff: Staff = request["staff"]
    reveal = request.query.get("reveal", "0")
    if reveal not in ("0", "1"):
        return web.json_response({"error": "reveal: 0 or 1"}, status=400)
    catalog = request.app["catalog"]
    hid = _handoff_id(request)

    def load():
        view = _desk(request).get(hid)
        if view is None:
            return 404, {"error": "not found"}
        if reveal == "1":
            # personal data only for the operator serving the conversation, or a supervisor
            if view.taken_by != staff.id and not staff.supervisor:
                return 403, REVEAL_REFUSED
            view = _desk(request).get(hid, staff.id)
        return 200, _handoff_json(view, catalog)

    status, data = await asyncio.to_thread(load)
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


async def handoff_take(request: web.Request) -> web.Response:
    ok = await asyncio.to_thread(_desk(request).take, _handoff_id(request), request["staff"].id)
    if not ok:
        return web.json_response({"error": "taken by someone else, closed, or unknown"}, status=409)
    return web.json_response({"ok": True})


async def _json_body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except BAD_JSON:
        body = None
    return body if isinstance(body, dict) else {}


async def handoff_reply(request: web.Request) -> web.Response:
    body = await _json_body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 2000:
        return web.json_response({"error": "text: 1-2000 characters"}, status=400)
    try:
        await asyncio.to_thread(_desk(request).operator_says, _handoff_id(request), request["staff"].id, text)
    except HandoffError:
        return web.json_response({"error": "not your active conversation"}, status=403)
    return web.json_response({"ok": True})


async def handoff_finish(request: web.Request) -> web.Response:
    body = await _json_body(request)
    back = body.get("back_to_bot", True) is not False
    try:
        await asyncio.to_thread(_desk(request).finish, _handoff_id(request), request["staff"].id, back)
    except HandoffError:
        return web.json_response({"error": "not your active conversation"}, status=403)
    return web.json_response({"ok": True})


def _overview_view(catalog, ov) -> dict:
    """Chart geometry for the overview template (SVG drawn on the server, no script needed)."""
    peak = max(ov.per_day_total or [0]) or 1
    width, height, bottom = 700, 220, 18
    slot = width / max(1, len(ov.days))
    bars = []
    for i, (d, n) in enumerate(zip(ov.days, ov.per_day_total, strict=True)):
        h = round((height - bottom - 16) * n / peak, 1)
        bars.append({"x": round(i * slot + slot * 0.15, 1), "w": round(slot * 0.7, 1), "y": height - bottom - h,
                     "h": h, "value": n, "label": d.isoformat(), "short": f"{d.month}/{d.day}"})
    totals = sorted(((sum(v), code) for code, v in ov.per_service.items()), reverse=True)
    names = {x.code: x.name for x in catalog.services()}
    top = max([t for t, _ in totals] or [0]) or 1
    label_width, row = 150, 22
    sbars = [{"y": i * row + 2, "h": row - 6, "w": round(480 * t / top, 1), "value": t, "label": names.get(c, c)}
             for i, (t, c) in enumerate(totals)]
    return {"daily": {"width": width, "height": height, "bars": bars},
            "services": {"width": label_width + 540, "height": max(row, row * len(sbars)), "label_width": label_width,
                         "bars": sbars}}


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def _secs(x) -> str:
    if x is None:
        return "—"
    x = int(round(x))
    return f"{x // 60}分{x % 60}秒" if x >= 60 else f"{x}秒"


async def overview_page(request: web.Request) -> web.Response:
    catalog = request.app["catalog"]
    db_url = request.app["settings"].db_url
    raw = request.query.get("days", "14")
    days = max(1, min(90, int(raw))) if re.fullmatch(r"[0-9]{1,4}", raw) else 14

    def build():
        ov = stats.overview(db_url, days)
        return ov, _overview_view(catalog, ov)

    try:
        ov, view = await asyncio.to_thread(build)
    except CATALOG_ERRORS:
        return web.json_response({"ok": False, "error": DB_UNAVAILABLE}, status=503)
    return _page("console_overview.html.j2", v=ov, pct=_pct, secs=_secs, **view)


async def overview_json(request: web.Request) -> web.Response:
    db_url = request.app["settings"].db_url
    try:
        ov = await asyncio.to_thread(stats.overview, db_url, 14)
    except CATALOG_ERRORS:
        return web.json_response({"ok": False, "error": DB_UNAVAILABLE}, status=503)
    return web.json_response({
        "days": [d.isoformat() for d in ov.days], "per_day_total": ov.per_day_total, "per_service": ov.per_service,
        "questions": ov.questions, "fallback_rate": ov.fallback_rate, "handoffs": ov.handoffs,
        "handoffs_taken": ov.handoffs_taken, "handoffs_timed_out": ov.handoffs_timed_out,
        "avg_wait_seconds": ov.avg_wait_seconds, "max_wait_seconds": ov.max_wait_seconds,
        "ratings": ov.ratings, "satisfaction": ov.satisfaction}, headers={"Cache-Control": "no-store"})


async def services(request: web.Request) -> web.Response:
    catalog = request.app["catalog"]
    try:
        items = await asyncio.to_thread(lambda: [{"code": x.code, "name": x.name} for x in catalog.services()])
    except CATALOG_ERRORS:
        return web.json_response({"error": "catalogue unavailable"}, status=503)
    return web.json_response({"services": items})


async def review_list(request: web.Request) -> web.Response:
    items = await asyncio.to_thread(ReviewDesk(request.app["settings"].db_url).pending)
    return web.json_response({"items": [
        {"id": i.id, "at": i.at.isoformat(timespec="seconds"), "source": i.source, "channel": i.channel,
         "text": i.text, "intent": i.intent, "confidence": i.confidence, "service": i.service} for i in items]},
        headers={"Cache-Control": "no-store"})


async def review_assign(request: web.Request) -> web.Response:
    body = await _json_body(request)
    label = body.get("label")
    catalog = request.app["catalog"]
    item_id = _positive_id(request.match_info["rid"], "review item id")

    def assign():
        codes = [svc.code for svc in catalog.services()]
        ReviewDesk(request.app["settings"].db_url).assign(item_id, str(label), request["staff"].id, codes)

    try:
        await asyncio.to_thread(assign)
    except ReviewError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"ok": True})


def setup(app: web.Application, db_url: str) -> None:
    app[AUTH_KEY] = StaffAuth(db_url)
    app.middlewares.append(console_guard)
    app.middlewares.append(require_staff)
    app.router.add_get("/console/login", login_form)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
    app.router.add_get("/console/", home)
    app.router.add_get("/console", home)
    app.router.add_get("/api/console/me", me)
    app.router.add_post("/api/console/assist", assist)
    app.router.add_get("/api/console/guide", guide)
    app.router.add_get("/api/console/queue", queue)
    app.router.add_get("/api/console/handoffs/{hid}", handoff_detail)
    app.router.add_post("/api/console/handoffs/{hid}/take", handoff_take)
    app.router.add_post("/api/console/handoffs/{hid}/reply", handoff_reply)
    app.router.add_post("/api/console/handoffs/{hid}/finish", handoff_finish)
    app.router.add_get("/api/console/services", services)
    app.router.add_get("/console/overview", overview_page)
    app.router.add_get("/api/console/overview", overview_json)
    app.router.add_get("/api/console/review", review_list)
    app.router.add_post("/api/console/review/{rid}", review_assign)
    app.router.add_static("/console/static/", STATIC)
