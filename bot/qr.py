"""QR codes and printable posters for the entry points (``python -m bot qr``).

For each entry point (see ``bot/content/entry_points.yml``) this writes
``<id>.png`` and ``<id>.svg`` (the QR code alone, for designers) and
``<id>.html``, an A4 poster page with the QR code inline, so it prints offline
from any browser ("Print → Save as PDF"). With all entry points, ``index.html``
lists the posters.

The QR code opens either the Telegram bot (``https://t.me/<bot>?start=<id>``)
or the web chat (``<url>/?entry=<id>``). Both carry only the entry-point id;
the channels look it up in the catalogue.
"""
from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence
from urllib.parse import urlsplit

import segno
from sqlalchemy.exc import SQLAlchemyError
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from . import entry
from .catalog.queries import Catalog, EntryPointInfo, OfficeInfo
from .config import TEMPLATE_DIR, Settings

TARGETS = ("telegram", "web", "wechat")
# Telegram usernames: 5-32 characters, letters, digits and underscores; bots end in "bot".
BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]$")
ERROR_LEVEL = "q"  # 25 % of the code can be damaged (scratches, glare on laminated posters)
QUIET_ZONE = 4  # modules, the minimum the standard requires
DEFAULT_WEB_URL = "http://127.0.0.1:8080"
# printed across every poster written without a public address (--draft)
DRAFT_MARK = "草稿（未配置公网地址，不可张贴）"


class QRError(ValueError):
    """A problem with the options or the entry point; the message is for the operator."""


def check_bot_username(name: Optional[str]) -> str:
    name = (name or "").strip().lstrip("@")
    if not name:
        raise QRError("a Telegram bot username is needed: set TELEGRAM_BOT_USERNAME or pass --bot-username NAME "
                      "(--draft cannot invent one: a made-up name may be somebody else's bot)")
    if not BOT_USERNAME.match(name) or not name.lower().endswith("bot"):
        raise QRError(f"not a Telegram bot username: {name!r} (5-32 letters, digits or _, ending in 'bot')")
    return name


def check_web_url(url: Optional[str]) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise QRError(f"not a web chat address: {url!r} (expected http(s)://host[/path], no query)")
    return url.rstrip("/")


def is_public_web_url(url: str) -> bool:
    """False for addresses only the machine itself can open (127.x, ::1, localhost, 0.0.0.0)."""
    from .stack import is_loopback

    host = urlsplit(url).hostname or ""
    return not (is_loopback(host) or host in ("0.0.0.0", "::") or host.endswith(".localhost"))


def link_for(target: str, entry_id: str, bot_username: Optional[str] = None,
             web_url: Optional[str] = None) -> str:
    if entry.valid_entry_id(entry_id) is None:
        raise QRError(f"invalid entry point id: {entry_id!r}")
    if target == "telegram":
        return entry.telegram_link(check_bot_username(bot_username), entry_id)
    if target == "web":
        return entry.web_link(check_web_url(web_url), entry_id, entry.elder_mode(entry_id))
    if target == "wechat":
        return wechat_link(entry_id)
    raise QRError(f"unknown target {target!r} (one of {', '.join(TARGETS)})")


def wechat_settings() -> Settings:
    settings = Settings.from_env()
    if not (settings.wechat_app_id and settings.wechat_app_secret):
        raise QRError("no WeChat Official Account configured: set WECHAT_APP_ID and WECHAT_APP_SECRET "
                      "(see docs/wechat.md) for parametric QR codes of the account")
    return settings


def wechat_link(entry_id: str) -> str:
    """A permanent parametric QR code of the Official Account carrying the entry point id
    (its scan arrives as a subscribe or SCAN event with the id as scene value)."""
    from .wechat.api import WechatAPI

    api = WechatAPI(wechat_settings())
    scene = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": entry_id}}}
    try:
        result = api.call_sync(lambda c: c.qrcode.create(scene))
    except Exception as exc:  # noqa: BLE001 - one line for the operator, not a traceback
        raise QRError(f"WeChat refused the QR code for {entry_id}: {type(exc).__name__} "
                      f"{getattr(exc, 'errcode', '') or ''}".rstrip()) from None
    if not isinstance(result, dict) or not result.get("url"):
        raise QRError("WeChat returned no QR code address")
    return str(result["url"])


def make_qr(link: str) -> segno.QRCode:
    return segno.make(link, error=ERROR_LEVEL, boost_error=False, micro=False)


def svg_markup(qr: segno.QRCode, scale: int = 10) -> str:
    """The code as an inline <svg> (no XML declaration), sized by CSS on the poster."""
    buf = io.BytesIO()
    qr.save(buf, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=False, svgns=True,
            title=None, desc=None, svgclass="qr", lineclass=None, omitsize=True)
    return buf.getvalue().decode("utf-8")


@dataclass(frozen=True)
class Poster:
    entry: EntryPointInfo
    service_name: str
    office: Optional[OfficeInfo]
    region_name: Optional[str]
    hotline: str
    target: str
    link: str
    # written without a public address: marked DRAFT_MARK in large type, not to be put up
    draft: bool = False


def poster_for(catalog: Catalog, ep: EntryPointInfo, target: str, link: str, draft: bool = False) -> Poster:
    service = catalog.service(ep.service)
    region = catalog.region(ep.region)
    return Poster(
        entry=ep,
        service_name=service.name if service else ep.service,
        office=catalog.office(ep.office),
        region_name=region.name if region else None,
        hotline=catalog.hotline_for(ep.region),
        target=target,
        link=link,
        draft=draft,
    )


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape(["j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def render_poster(poster: Poster) -> str:
    qr_svg = Markup(svg_markup(make_qr(poster.link)))  # generated by segno, no catalogue text inside
    return _env().get_template("poster.html.j2").render(p=poster, qr_svg=qr_svg, draft_mark=DRAFT_MARK)


def render_index(posters: Sequence[Poster]) -> str:
    return _env().get_template("poster_index.html.j2").render(
        posters=posters, draft=any(p.draft for p in posters), draft_mark=DRAFT_MARK)


def write_entry(catalog: Catalog, ep: EntryPointInfo, target: str, out: Path,
                bot_username: Optional[str] = None, web_url: Optional[str] = None, draft: bool = False) -> Poster:
    link = link_for(target, ep.id, bot_username, web_url)
    poster = poster_for(catalog, ep, target, link, draft)
    out.mkdir(parents=True, exist_ok=True)
    qr = make_qr(link)
    qr.save(str(out / f"{ep.id}.png"), kind="png", scale=12, border=QUIET_ZONE)
    qr.save(str(out / f"{ep.id}.svg"), kind="svg", scale=10, border=QUIET_ZONE)
    (out / f"{ep.id}.html").write_text(render_poster(poster), encoding="utf-8")
    return poster


def write_all(catalog: Catalog, target: str, out: Path, entry_id: Optional[str] = None,
              bot_username: Optional[str] = None, web_url: Optional[str] = None,
              draft: bool = False) -> List[Poster]:
    """Posters for all entry points (or one). Without a public web address this refuses,
    unless ``draft``: then the code opens the local web chat and every poster says so."""
    # check the options before touching the disk
    if target == "telegram":
        bot_username = check_bot_username(bot_username)
    elif target == "web":
        if not (web_url or "").strip():
            if not draft:
                raise QRError("no public address of the web chat: set MINZHENG_PUBLIC_URL=https://<host> "
                              "(or pass --web-url), or pass --draft for posters marked as drafts")
            web_url = DEFAULT_WEB_URL
        web_url = check_web_url(web_url)
        if not is_public_web_url(web_url) and not draft:
            raise QRError(f"{web_url} opens only on this machine, not on a citizen's phone: set "
                          "MINZHENG_PUBLIC_URL=https://<host> (or --web-url), or pass --draft for posters "
                          "marked as drafts")
    elif target == "wechat":
        wechat_settings()  # refuses without the account's credentials, like the other targets
    else:
        raise QRError(f"unknown target {target!r} (one of {', '.join(TARGETS)})")
    entries = catalog.entry_points()
    if entry_id is not None:
        chosen = [ep for ep in entries if ep.id == entry_id]
        if not chosen:
            known = ", ".join(ep.id for ep in entries) or "(none: load the catalogue first)"
            raise QRError(f"unknown entry point {entry_id!r}; known: {known}")
        entries = chosen
    posters = [write_entry(catalog, ep, target, out, bot_username, web_url, draft) for ep in entries]
    if entry_id is None:
        (out / "index.html").write_text(render_index(posters), encoding="utf-8")
    return posters


def main(args) -> int:
    settings = Settings.from_env()
    catalog = Catalog(args.db_url, settings.hotline)
    bot_username = args.bot_username or os.environ.get("TELEGRAM_BOT_USERNAME")
    web_url = args.web_url or os.environ.get("MINZHENG_PUBLIC_URL") or None
    draft = bool(getattr(args, "draft", False))
    target = args.target or ("telegram" if bot_username else "web")
    out = Path(args.out)
    try:
        posters = write_all(catalog, target, out, args.entry, bot_username, web_url, draft)
    except QRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError:
        print(f"error: cannot read the catalogue at {args.db_url}: load it first with `make catalog` "
              "(python -m bot catalog load)", file=sys.stderr)
        return 1
    mark = "DRAFT  " if draft else ""
    for p in posters:
        print(f"{mark}{out / p.entry.id}.html  {p.link}")
    if args.entry is None:
        print(f"{mark}{out / 'index.html'}  ({len(posters)} {'draft ' if draft else ''}posters)")
    if draft:
        print(f"DRAFT: every poster is marked {DRAFT_MARK}; do not put them up. Set MINZHENG_PUBLIC_URL "
              "(web) or TELEGRAM_BOT_USERNAME (telegram) and run `make qr` again for posters to print.",
              file=sys.stderr)
    return 0
