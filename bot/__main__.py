"""Command line: ``python -m bot <command>``.

    db upgrade                 apply the schema migrations
    catalog load               validate the YAML content and (re)load the catalogue
    catalog check              validate the YAML content only
    guide CODE [--region R]    print a guide as the citizen would read it
    ask [--conversation]       questions on stdin -> JSON lines (see bot/ask.py)
    web                        serve the web chat page
    nlu-dict                   regenerate nlu_ext/jieba/places.txt from the regions
    serve                      start action server, Rasa server and web chat (make run)
    telegram                   the Telegram front end (polling or webhook; needs TELEGRAM_TOKEN)
    wechat menu                install the WeChat Official Account's menu (needs WECHAT_APP_ID/SECRET)
    qr [ENTRY]                 QR codes and printable posters for the entry points
    staff add NAME             create a hotline staff account (asks for the password; --supervisor)
    staff role NAME ROLE       make an account an operator or a supervisor
    export-nlu [--out FILE]    reviewed console examples as Rasa NLU YAML
"""
from __future__ import annotations

import argparse
import os
import sys

from .config import CONTENT_DIR, Settings


def _cmd_db(args: argparse.Namespace) -> int:
    from .catalog.migrate import upgrade

    upgrade(args.db_url)
    print(f"schema up to date: {args.db_url}")
    return 0


def _cmd_catalog(args: argparse.Namespace) -> int:
    from .catalog.loader import ContentError, load_content, write_catalog

    try:
        content = load_content(args.content)
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.action == "check":
        print(f"content ok: {len(content.services)} services, {len(content.regions)} regions, "
              f"{len(content.faq)} FAQ entries")
        return 0
    from .catalog.migrate import upgrade

    upgrade(args.db_url)
    counts = write_catalog(args.db_url, content)
    from .status_lookup import SampleError, load_samples

    try:
        counts["sample applications"] = load_samples(args.db_url, services={svc.code for svc in content.services})
    except SampleError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("catalogue loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def _cmd_guide(args: argparse.Namespace) -> int:
    from .assistant import Assistant
    from .catalog.queries import Catalog

    settings = Settings.from_env()
    catalog = Catalog(args.db_url, settings.hotline)
    region = None
    if args.region:
        ref = catalog.find_region(args.region)
        if ref is None:
            print(f"unknown region: {args.region}", file=sys.stderr)
            return 1
        region = ref.code
    reply = Assistant(catalog).guide(args.code, region, args.age)
    print(reply.html if args.format == "html" else reply.text)
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    from .ask import main as ask_main

    return ask_main(args)


def _servers_use_db_url(args: argparse.Namespace) -> None:
    """The servers read their settings with ``Settings.from_env()`` (also in the processes
    they start): ``--db-url`` reaches them as MINZHENG_DB_URL."""
    os.environ["MINZHENG_DB_URL"] = args.db_url


def _cmd_web(args: argparse.Namespace) -> int:
    from .config import rasa_token, weak_rasa_token
    from .stack import is_loopback
    from .web.server import main as web_main

    if not is_loopback(args.host) and weak_rasa_token(rasa_token()):
        print(f"error: the web chat would listen on {args.host}, but RASA_TOKEN is the published default or "
              "shorter than 16 characters: unset it (a random token is kept in var/rasa-token) or set a long "
              "random value", file=sys.stderr)
        return 1
    _servers_use_db_url(args)
    return web_main(args)


def _cmd_nlu_dict(args: argparse.Namespace) -> int:
    from . import nlu_dict
    from .catalog.loader import load_content

    n = nlu_dict.write(load_content(CONTENT_DIR))
    print(f"{nlu_dict.PLACES_FILE}: {n} place names")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    import os

    from .stack import serve

    if args.production:
        os.environ["MINZHENG_PRODUCTION"] = "1"
    _servers_use_db_url(args)
    return serve(args.rasa_port, args.action_port, args.web_port, args.host, telegram=args.telegram or None,
                 model=Path(args.model) if args.model else None)


def _cmd_telegram(args: argparse.Namespace) -> int:
    from .telegram.app import main as telegram_main

    _servers_use_db_url(args)
    return telegram_main(args)


def _cmd_wechat(args: argparse.Namespace) -> int:
    from .wechat.cli import main as wechat_main

    return wechat_main(args)


def _cmd_qr(args: argparse.Namespace) -> int:
    from .qr import main as qr_main

    return qr_main(args)


def _cmd_staff(args: argparse.Namespace) -> int:
    import getpass

    from .catalog.migrate import upgrade
    from .console.auth import AccountError, StaffAuth

    if args.action == "role":
        if args.role is None:
            print("error: name the role: staff role NAME operator|supervisor", file=sys.stderr)
            return 1
        upgrade(args.db_url)
        if not StaffAuth(args.db_url).set_role(args.name, args.role):
            print(f"error: no staff account named {args.name!r}", file=sys.stderr)
            return 1
        print(f"{args.name} is now: {args.role}")
        return 0
    if args.role is not None:
        print("error: staff add takes --supervisor, not a role", file=sys.stderr)
        return 1
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 1
    upgrade(args.db_url)
    try:
        staff = StaffAuth(args.db_url).add_account(args.name, password, args.display_name,
                                                   role="supervisor" if args.supervisor else "operator")
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"staff account created: {staff.name} ({staff.role})")
    return 0


def _cmd_booking(args: argparse.Namespace) -> int:
    from .booking import BookingService

    BookingService(args.db_url).unlock(args.code)
    print(f"self-service unlocked for booking {args.code.strip().upper()}")
    return 0


def _cmd_export_nlu(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from .review import ReviewDesk, export_nlu

    try:
        text, n, skipped = export_nlu(ReviewDesk(args.db_url).reviewed())
    except SQLAlchemyError:
        print(f"error: cannot read the review items at {args.db_url}", file=sys.stderr)
        return 1
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"{n} examples exported, {skipped} skipped (personal data)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    settings = Settings.from_env()
    p = argparse.ArgumentParser(prog="python -m bot", description="Minzheng Assistant tools")
    p.add_argument("--db-url", default=settings.db_url, help="catalogue database (env MINZHENG_DB_URL)")
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="schema migrations")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=_cmd_db)

    cat = sub.add_parser("catalog", help="load or check the catalogue content")
    cat.add_argument("action", choices=["load", "check"])
    cat.add_argument("--content", type=lambda s: __import__("pathlib").Path(s), default=CONTENT_DIR)
    cat.set_defaults(func=_cmd_catalog)

    g = sub.add_parser("guide", help="print one guide")
    g.add_argument("code")
    g.add_argument("--region")
    g.add_argument("--age", type=int)
    g.add_argument("--format", choices=["text", "html"], default="text")
    g.set_defaults(func=_cmd_guide)

    ask = sub.add_parser("ask", help="questions on stdin, JSON answers on stdout")
    ask.add_argument("--url", help="a running Rasa server (default: start one)")
    ask.add_argument("--conversation", action="store_true", help="all lines are one conversation")
    ask.add_argument("--token", default=None, help="Rasa HTTP API token (default: RASA_TOKEN or var/rasa-token)")
    ask.add_argument("--model", default=None, help="model file or directory (default: models/)")
    ask.add_argument("--timeout", type=float, default=30.0, help="seconds per question")
    ask.set_defaults(func=_cmd_ask)

    web = sub.add_parser("web", help="serve the web chat page")
    web.add_argument("--host", default=settings.web_host)
    web.add_argument("--port", type=int, default=settings.web_port)
    web.add_argument("--rasa-url", default=settings.rasa_url)
    web.set_defaults(func=_cmd_web)
    nd = sub.add_parser("nlu-dict", help="regenerate the Jieba place-name dictionary from the catalogue")
    nd.set_defaults(func=_cmd_nlu_dict)

    srv = sub.add_parser("serve", help="start all servers in the foreground")
    srv.add_argument("--host", default=settings.web_host,
                     help="web chat address (env WEB_HOST); Rasa and the action server follow RASA_HOST, ACTION_HOST")
    srv.add_argument("--rasa-port", type=int, default=5005)
    srv.add_argument("--action-port", type=int, default=5055)
    srv.add_argument("--web-port", type=int, default=settings.web_port)
    srv.add_argument("--telegram", action="store_true", help="require the Telegram front end (TELEGRAM_TOKEN)")
    srv.add_argument("--production", action="store_true",
                     help="production mode: PostgreSQL, Redis, nginx, N replicas (docs/deployment.md)")
    srv.add_argument("--model", default=None, help="model file (default: the newest in models/)")
    srv.set_defaults(func=_cmd_serve)

    tg = sub.add_parser("telegram", help="run the Telegram front end (env TELEGRAM_TOKEN)")
    tg.add_argument("--mode", choices=["polling", "webhook"], default="polling")
    tg.add_argument("--rasa-url", default=settings.rasa_url)
    tg.add_argument("--webhook-url", default=None, help="public HTTPS URL Telegram posts to (webhook mode)")
    tg.add_argument("--listen", default="127.0.0.1", help="address the webhook server binds (webhook mode)")
    tg.add_argument("--port", type=int, default=8443, help="port the webhook server binds (webhook mode)")
    tg.set_defaults(func=_cmd_telegram)

    qr = sub.add_parser("qr", help="QR images (PNG, SVG) and A4 posters for the entry points")
    qr.add_argument("entry", nargs="?", help="one entry point id (default: all)")
    qr.add_argument("--target", choices=["telegram", "web", "wechat"], default=None,
                    help="what the QR code opens: the Telegram bot, the web chat or the WeChat Official Account "
                         "(wechat: parametric codes made through the API, needs WECHAT_APP_ID/SECRET) "
                         "(default: telegram when a bot username is given or TELEGRAM_BOT_USERNAME is set, else web)")
    qr.add_argument("--bot-username", default=None, help="Telegram bot username (env TELEGRAM_BOT_USERNAME)")
    qr.add_argument("--web-url", default=None, help="public web chat URL (env MINZHENG_PUBLIC_URL)")
    qr.add_argument("--out", default="var/qr", help="output directory")
    qr.add_argument("--draft", action="store_true",
                    help="without a public address: write posters marked as drafts (not to be put up)")
    qr.set_defaults(func=_cmd_qr)
    wx = sub.add_parser("wechat", help="WeChat Official Account tools")
    wx.add_argument("action", choices=["menu"], help="menu: install the account's menu (WECHAT_MENU or the default)")
    wx.set_defaults(func=_cmd_wechat)
    st = sub.add_parser("staff", help="hotline staff accounts")
    st.add_argument("action", choices=["add", "role"], help="add an account, or set its role")
    st.add_argument("name")
    st.add_argument("role", nargs="?", choices=["operator", "supervisor"], help="with role: the new role")
    st.add_argument("--supervisor", action="store_true",
                    help="with add: may also reveal personal data in conversations served by others")
    st.add_argument("--display-name", default=None, help="name shown in the console (default: NAME)")
    st.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    st.set_defaults(func=_cmd_staff)

    bk = sub.add_parser("booking", help="office tools for registration bookings")
    bk.add_argument("action", choices=["unlock"],
                    help="unlock: lift the self-service lock after wrong answers (identity checked at the office)")
    bk.add_argument("code", help="the booking's confirmation code")
    bk.set_defaults(func=_cmd_booking)

    ex = sub.add_parser("export-nlu", help="reviewed examples from the console as Rasa NLU YAML")
    ex.add_argument("--out", default=None, help="file to write (default: stdout)")
    ex.set_defaults(func=_cmd_export_nlu)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
