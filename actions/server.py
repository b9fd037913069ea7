"""The action server: ``python -m actions.server [--host H] [--port P]``.

rasa_sdk's own Sanic app (``rasa_sdk.endpoint.create_app``) with two changes:

* it binds ``ACTION_HOST`` (default ``127.0.0.1``), never rasa_sdk's ``0.0.0.0``;
* when ``MINZHENG_ACTION_SECRET`` is set, ``/webhook`` and ``/actions`` answer 401
  unless the request carries it in the ``X-Minzheng-Action-Secret`` header (Rasa
  sends it: ``headers:`` of ``action_endpoint`` in endpoints.yml). ``/health``
  stays open for probes.

Listening beyond loopback without a secret is refused: anyone who reaches the
port could otherwise run any action with any slots, skipping the forms.
"""
from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Optional

from bot.stack import ACTION_SECRET_ENV as SECRET_ENV
from bot.stack import ACTION_SECRET_HEADER as SECRET_HEADER
from bot.stack import is_loopback

OPEN_PATHS = frozenset({"/health"})
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
# Rasa opens a new connection for every action call, so with many conversations at once
# the queue of connections not yet accepted fills quickly; at Sanic's default of 100 the
# kernel drops some and Rasa logs "Cannot write to closing transport" (docs/performance.md).
# SANIC_BACKLOG is also the variable Rasa reads for its own server.
DEFAULT_BACKLOG = 1024
# Sanic closes a connection that has sent no request for KEEP_ALIVE_TIMEOUT (5 s), and that
# includes a connection Rasa has just opened: when Rasa is busy with many conversations its
# event loop can come back to write the request later than that, and the action is lost
# the same way. Rasa closes its connection after each call, so nothing stays open longer.
# SANIC_KEEP_ALIVE_TIMEOUT (read by Sanic) overrides it.
DEFAULT_KEEP_ALIVE_TIMEOUT = 60.0

logger = logging.getLogger(__name__)


def secret_matches(expected: str, given: Optional[str]) -> bool:
    """Constant-time comparison of bytes (a non-ASCII header never raises)."""
    return given is not None and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "surrogateescape"))


def check_bind(host: str, secret: str) -> None:
    if not is_loopback(host) and not secret:
        raise SystemExit(
            f"refusing to listen on {host} without {SECRET_ENV}: the action server runs any action "
            f"it is sent; set {SECRET_ENV} (and the same header in endpoints.yml) or keep ACTION_HOST=127.0.0.1"
        )


def create_app(secret: str = "", actions: str = "actions"):
    from sanic import response
    from rasa_sdk.endpoint import create_app as sdk_app

    # rasa_sdk allows every CORS origin by default; only Rasa calls this server, never a browser
    app = sdk_app(actions, cors_origins="")
    if not os.environ.get("SANIC_KEEP_ALIVE_TIMEOUT"):
        app.config.KEEP_ALIVE_TIMEOUT = DEFAULT_KEEP_ALIVE_TIMEOUT

    if secret:
        @app.middleware("request")
        async def require_secret(request):
            if request.path in OPEN_PATHS:
                return None
            if not secret_matches(secret, request.headers.get(SECRET_HEADER)):
                return response.json({"error": "unauthorised"}, status=401)
            return None
    return app


def main(argv=None) -> int:
    from rasa_sdk import utils
    from rasa_sdk.plugin import plugin_manager

    p = argparse.ArgumentParser(prog="python -m actions.server", description="the Minzheng action server")
    p.add_argument("--host", default=os.environ.get("ACTION_HOST", DEFAULT_HOST))
    p.add_argument("--port", type=int, default=int(os.environ.get("ACTION_PORT", DEFAULT_PORT)))
    p.add_argument("--backlog", type=int, default=int(os.environ.get("SANIC_BACKLOG") or DEFAULT_BACKLOG),
                   help="connections waiting to be accepted (SANIC_BACKLOG)")
    p.add_argument("--loglevel", default="INFO")
    args = p.parse_args(argv)
    secret = os.environ.get(SECRET_ENV, "").strip()
    check_bind(args.host, secret)
    logging.basicConfig(level=args.loglevel, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    utils.update_sanic_log_level()
    app = create_app(secret)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logger.info("action server on http://%s:%s (%s)", args.host, args.port,
                "shared secret required" if secret else "no secret: loopback only")
    app.run(args.host, args.port, workers=1, access_log=False, backlog=args.backlog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
