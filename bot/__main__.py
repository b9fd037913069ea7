"""Command line: ``python -m bot <command>``.

    db upgrade                 apply the schema migrations
    catalog load               validate the YAML content and (re)load the catalogue
    catalog check              validate the YAML content only
    guide CODE [--region R]    print a guide as the citizen would read it
    ask [--conversation]       questions on stdin -> JSON lines (see bot/ask.py)
    web                        serve the web chat page
    nlu-dict                   regenerate nlu_ext/jieba/places.txt from the regions
    serve                      start action server, Rasa server and web chat (make run)
"""
from __future__ import annotations

import argparse
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
        print(f"content ok: {len(content.services)} services, {len(content.regions)} regions")
        return 0
    from .catalog.migrate import upgrade

    upgrade(args.db_url)
    counts = write_catalog(args.db_url, content)
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


def _cmd_web(args: argparse.Namespace) -> int:
    from .web.server import main as web_main

    return web_main(args)


def _cmd_nlu_dict(args: argparse.Namespace) -> int:
    from . import nlu_dict
    from .catalog.loader import load_content

    n = nlu_dict.write(load_content(CONTENT_DIR))
    print(f"{nlu_dict.PLACES_FILE}: {n} place names")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .stack import serve

    return serve(args.rasa_port, args.action_port, args.web_port, args.host)


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
    ask.add_argument("--token", default=None, help="Rasa HTTP API token (env RASA_TOKEN)")
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
    srv.add_argument("--host", default=settings.web_host)
    srv.add_argument("--rasa-port", type=int, default=5005)
    srv.add_argument("--action-port", type=int, default=5055)
    srv.add_argument("--web-port", type=int, default=settings.web_port)
    srv.set_defaults(func=_cmd_serve)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
