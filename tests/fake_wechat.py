"""A fake WeChat API on loopback for the WeChat channel's tests, with the real limits:

- access tokens expire (``expires_in``; ``expire_tokens()`` ends them at once) -> 42001,
  unknown tokens -> 40001;
- customer-service text messages: at most 2048 bytes -> 45002; only within 48 hours of
  the follower's last message -> 45015, and at most 5 messages in that window -> 45047
  (the test says when the follower wrote: ``user_wrote``);
- menu/create and qrcode/create are recorded.
"""
from __future__ import annotations

import itertools
import time
from typing import Dict, List, Tuple

from aiohttp import web
from aiohttp.test_utils import TestServer

APP_ID = "wx0123456789abcdef"
APP_SECRET = "s" * 32
WINDOW = 48 * 3600
MAX_SENT = 5
MAX_BYTES = 2048


class FakeWeChat:
    def __init__(self, expires_in: int = 7200):
        self.expires_in = expires_in
        self.clock = time.monotonic
        self.offset = 0.0
        self.tokens: Dict[str, float] = {}
        self.token_fetches = 0
        self.sent: List[Tuple[str, str]] = []
        self.refused: List[int] = []
        self.wrote: Dict[str, Tuple[float, int]] = {}  # openid -> (when, sent since)
        self.menus: List[dict] = []
        self.qrcodes: List[dict] = []
        self._n = itertools.count(1)
        self.server: TestServer = None

    def now(self) -> float:
        return self.clock() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def expire_tokens(self) -> None:
        self.tokens = {t: self.now() - 1 for t in self.tokens}

    def user_wrote(self, openid: str) -> None:
        self.wrote[openid] = (self.now(), 0)

    def texts_to(self, openid: str) -> List[str]:
        return [text for who, text in self.sent if who == openid]

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/cgi-bin/"))

    # -- the API -----------------------------------------------------------------------------
    def _refuse(self, code: int, msg: str) -> web.Response:
        self.refused.append(code)
        return web.json_response({"errcode": code, "errmsg": msg})

    def _token_problem(self, request: web.Request):
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            return self._refuse(40001, "invalid credential")
        if self.tokens[token] <= self.now():
            return self._refuse(42001, "access_token expired")
        return None

    async def token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential" or q.get("appid") != APP_ID or q.get("secret") != APP_SECRET:
            return self._refuse(40013, "invalid appid")
        self.token_fetches += 1
        token = f"TOKEN-{next(self._n)}"
        self.tokens[token] = self.now() + self.expires_in
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    async def custom_send(self, request: web.Request) -> web.Response:
        problem = self._token_problem(request)
        if problem is not None:
            return problem
        body = await request.json(loads=__import__("json").loads)
        openid, content = body.get("touser"), (body.get("text") or {}).get("content", "")
        if body.get("msgtype") != "text" or not openid:
            return self._refuse(40008, "invalid message type")
        if len(content.encode("utf-8")) > MAX_BYTES:
            return self._refuse(45002, "content size out of limit")
        when, count = self.wrote.get(openid, (None, 0))
        if when is None or self.now() - when > WINDOW:
            return self._refuse(45015, "response out of time limit")
        if count >= MAX_SENT:
            return self._refuse(45047, "out of response count limit")
        self.wrote[openid] = (when, count + 1)
        self.sent.append((openid, content))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def menu_create(self, request: web.Request) -> web.Response:
        problem = self._token_problem(request)
        if problem is not None:
            return problem
        self.menus.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def qrcode_create(self, request: web.Request) -> web.Response:
        problem = self._token_problem(request)
        if problem is not None:
            return problem
        data = await request.json()
        self.qrcodes.append(data)
        scene = data["action_info"]["scene"]["scene_str"]
        return web.json_response({"ticket": f"T-{scene}", "url": f"http://weixin.qq.com/q/{scene}"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        app.router.add_post("/cgi-bin/menu/create", self.menu_create)
        app.router.add_post("/cgi-bin/qrcode/create", self.qrcode_create)
        return app

    async def start(self) -> FakeWeChat:
        self.server = TestServer(self.app())
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()
