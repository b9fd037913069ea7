"""Fuzz drivers for the HTTP entry points: the web chat API, the feedback API and the
staff console, each served in-process (aiohttp TestServer) with Rasa replaced by a
small fake REST server on loopback, so that 10,000 inputs take seconds.

The battery follows the current code rather than a fixed protocol: the citizen's
conversation may be named by a "sender" field or by a server-issued cookie (the
client's cookie jar is cleared for most inputs so that they are separate
conversations), and 429 answers are counted as throttled, not as errors. Client
addresses vary through X-Forwarded-For from a trusted proxy (loopback), the way a
TLS proxy in front of a public deployment presents many citizens.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import random
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from .fuzz_inputs import (
    CITIZEN_MESSAGES, Tally, bad_sender, bad_text, mutate, payload, random_json, random_text, short,
    valid_sender,
)

STAFF_NAME = "fuzz.operator"
STAFF_PASSWORD = "fuzzing the desk 2026"
HOTLINE = "12345"


class TracebackCatcher(logging.Handler):
    """Keeps the last exception logged by aiohttp (the traceback behind a 500)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        from aiohttp.http_exceptions import HttpProcessingError

        if record.exc_info and isinstance(record.exc_info[1], HttpProcessingError):
            return  # a request that is not valid HTTP: aiohttp answers 400 itself
        if record.exc_info:
            self.last = logging.Formatter().formatException(record.exc_info)
        else:
            self.last = record.getMessage()

    def take(self) -> str:
        last, self.last = self.last, ""
        return last


class FakeRasa:
    """Rasa's REST channel, tracker and NLU endpoints with canned answers."""

    def __init__(self) -> None:
        self.received = 0
        self.url = ""
        self._runner: Optional[web.AppRunner] = None

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received += 1
        sender, message = body.get("sender"), body.get("message", "")
        if message == "/restart":
            return web.json_response([])
        if message in ("转人工", "/human_handoff"):
            return web.json_response([
                {"recipient_id": sender, "text": "好的，正在为您转接人工服务，请稍候。"},
                {"recipient_id": sender, "custom": {"kind": "handoff_queued", "service": None, "html": "好的"}}])
        if self.received % 7 == 0:
            return web.json_response([
                {"recipient_id": sender, "text": "抱歉，我不太确定您想了解哪项业务。"},
                {"recipient_id": sender, "custom": {"kind": "clarify", "service": None, "html": "抱歉"}}])
        return web.json_response([
            {"recipient_id": sender, "text": "低保申请指南：……",
             "buttons": [{"title": "所需材料", "payload": "/ask_materials"}]},
            {"recipient_id": sender, "custom": {"kind": "guide", "service": "assistance.dibao",
                                                "html": "<b>低保申请指南</b>"}}])

    async def tracker(self, request: web.Request) -> web.Response:
        return web.json_response({
            "events": [{"event": "user", "text": "低保怎么申请，我电话13812345678"},
                       {"event": "bot", "text": "低保申请指南……"}, {"event": "user", "text": "/human_handoff"}],
            "slots": {"service": "assistance.dibao", "region": "hunan-chenzhou"},
            "latest_message": {"intent": {"name": "human_handoff"}}})

    async def parse(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"text": body.get("text"), "intent": {"name": "assistance_dibao", "confidence": 0.9},
                                  "intent_ranking": [{"name": "assistance_dibao", "confidence": 0.9},
                                                     {"name": "marriage_register", "confidence": 0.05}],
                                  "entities": []})

    async def start(self) -> FakeRasa:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_get("/conversations/{sid}/tracker", self.tracker)
        app.router.add_post("/model/parse", self.parse)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()


def fuzz_database(directory: Optional[Path] = None) -> str:
    """A migrated catalogue with the real content and the sample applications, on tmpfs
    when there is one (thousands of small writes)."""
    from bot.catalog.loader import load_content, write_catalog
    from bot.catalog.migrate import upgrade
    from bot.config import CONTENT_DIR
    from bot.console.auth import StaffAuth
    from bot.status_lookup import load_samples

    if directory is None:
        shm = Path("/dev/shm")
        directory = Path(tempfile.mkdtemp(prefix="minzheng-fuzz-", dir=shm if shm.is_dir() else None))
    url = f"sqlite:///{directory / 'fuzz.db'}"
    upgrade(url)
    write_catalog(url, load_content(CONTENT_DIR))
    load_samples(url)
    StaffAuth(url).add_account(STAFF_NAME, STAFF_PASSWORD, "测试坐席")
    return url


@dataclass
class WebEnv:
    """The web chat app in-process, its fake Rasa, and what the generators need."""

    db_url: str
    rasa: FakeRasa
    client: TestClient
    catcher: TracebackCatcher
    services: List[str]
    entries: List[str]
    intents: List[str]
    staff_origin: Dict[str, str] = field(default_factory=dict)
    staff: Optional[TestClient] = None

    @classmethod
    async def start(cls, db_url: Optional[str] = None) -> WebEnv:
        from bot.catalog.queries import Catalog
        from bot.channel_input import known_intents
        from bot.config import Settings
        from bot.web.server import create_app

        db_url = db_url or await asyncio.to_thread(fuzz_database)
        rasa = await FakeRasa().start()
        settings = Settings(db_url=db_url, rasa_url=rasa.url, web_host="127.0.0.1", web_port=0, hotline=HOTLINE,
                            rasa_token="fuzz-token", trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
                            client_secret="fuzz-client-secret")
        catcher = TracebackCatcher()
        for name in ("aiohttp.server", "aiohttp.web", "bot"):
            logger = logging.getLogger(name)
            logger.addHandler(catcher)
            if logger.getEffectiveLevel() > logging.ERROR:
                logger.setLevel(logging.ERROR)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        client = TestClient(TestServer(create_app(rasa.url, settings)))
        await client.start_server()
        catalog = Catalog(db_url, HOTLINE)
        services = [s.code for s in catalog.services()]
        entries = await asyncio.to_thread(_entry_ids, db_url)
        return cls(db_url, rasa, client, catcher, services, entries, sorted(known_intents()))

    async def sign_in(self) -> TestClient:
        if self.staff is None:
            self.staff = TestClient(self.client.server)
            await self.staff.start_server()
            self.staff_origin = {"Origin": str(self.staff.make_url("")).rstrip("/")}
            resp = await self.staff.post("/console/login", data={"name": STAFF_NAME, "password": STAFF_PASSWORD},
                                         headers=self.staff_origin, allow_redirects=False)
            if resp.status != 303:
                raise RuntimeError(f"the fuzz operator could not sign in: {resp.status}")
        return self.staff

    async def close(self) -> None:
        for name in ("aiohttp.server", "aiohttp.web", "bot"):
            logging.getLogger(name).removeHandler(self.catcher)
        if self.staff is not None:
            await self.staff.session.close()
        await self.client.close()
        await self.rasa.stop()


def _entry_ids(db_url: str) -> List[str]:
    from sqlalchemy import select

    from bot.catalog import models
    from bot.catalog.db import session_scope

    with session_scope(db_url) as s:
        return list(s.execute(select(models.EntryPoint.id)).scalars())


def client_headers(rng: random.Random, clean: bool = False) -> Dict[str, str]:
    """A citizen behind the trusted proxy (mostly), sometimes with garbage headers (never when
    ``clean``: a request with control characters in a header is not valid HTTP)."""
    headers = {"X-Forwarded-For": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"}
    if clean:
        return headers
    r = rng.random()
    if r < 0.05:
        headers["X-Forwarded-For"] = random_text(rng, 40).encode("utf-8", "replace").decode("latin-1")[:200]
    elif r < 0.08:
        headers["X-Forwarded-For"] = ", ".join(f"{rng.randrange(256)}.1.1.1" for _ in range(rng.randint(2, 30)))
    elif r < 0.1:
        headers.pop("X-Forwarded-For")
    if "X-Forwarded-For" in headers:
        headers["X-Forwarded-For"] = re.sub(r"[\r\n\x00]", "", headers["X-Forwarded-For"])
    if rng.random() < 0.1:
        name = rng.choice(("mz_web", "mz_chat", "mz_sender", "mz_staff", "session", "sender"))
        headers["Cookie"] = f"{name}={rng.choice(('x', 'a' * 5000, valid_sender(rng), '%00%ff', ''))}"
    return headers


def _encode(rng: random.Random, body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")


@dataclass
class Request:
    method: str
    path: str
    data: bytes = b""
    headers: Dict[str, str] = field(default_factory=dict)
    expect_reply: bool = False  # a real citizen message: must be answered
    chat: bool = False  # any 200 must carry messages


def chat_request(rng: random.Random, env: WebEnv) -> Request:
    headers = {"Content-Type": "application/json", **client_headers(rng)}
    sender = valid_sender(rng)
    r = rng.random()
    body: Any
    expect = False
    if r < 0.2:
        body, expect = {"sender": sender, "text": rng.choice(CITIZEN_MESSAGES)}, True
        headers = {"Content-Type": "application/json", **client_headers(rng, clean=True)}
    elif r < 0.35:
        body = {"sender": sender, "text": bad_text(rng)}
    elif r < 0.45:
        body = {"sender": sender, "payload": payload(rng, env.intents)}
    elif r < 0.55:
        entry = rng.choice(env.entries) if env.entries else "x"
        body = {"sender": sender, "entry": rng.choice((entry, mutate(rng, entry), bad_text(rng), random_json(rng)))}
    elif r < 0.65:
        body = {k: random_json(rng) for k in rng.sample(["sender", "text", "payload", "entry", "x"], rng.randint(1, 4))}
        if rng.random() < 0.5:
            body["sender"] = sender
    elif r < 0.72:
        body = {"sender": bad_sender(rng), "text": rng.choice(CITIZEN_MESSAGES)}
    elif r < 0.8:
        body = random_json(rng)
    elif r < 0.88:
        raw = rng.choice((b"", b"{", b"{'sender': 1}", b"\xff\xfe\x00", b"[" * 5000, b'{"sender": "\xe4\xb8"}',
                          b"null", b'{"text": "' + b"\x00" * 100 + b'"}', random_text(rng).encode("utf-8", "replace")))
        return Request("POST", "/api/chat", raw, headers, chat=False)
    elif r < 0.93:
        size = rng.choice((16 * 1024 + 1, 64 * 1024, 1024 * 1024))
        body = {"sender": sender, "text": "中" * (size // 3)}
    elif r < 0.97:
        query = rng.choice(("", f"?sender={sender}", "?sender=" + "%ff" * 30, "?sender=x" * 50))
        return Request("GET", "/api/chat/updates" + query, b"", client_headers(rng))
    else:
        method, path = rng.choice((("GET", "/api/chat"), ("PUT", "/api/chat"), ("POST", "/api/chat/"),
                                   ("POST", "/api/chat?sender=abc"), ("DELETE", "/api/chat"),
                                   ("POST", "/api/%2e%2e/console/queue"), ("GET", "/static/../../etc/passwd")))
        return Request(method, path, _encode(rng, {"sender": sender, "text": "你好"}), headers)
    if rng.random() < 0.05:
        headers["Content-Type"] = rng.choice(("text/plain", "application/x-www-form-urlencoded", "", "a/b; c"))
    return Request("POST", "/api/chat", _encode(rng, body), headers, expect_reply=expect, chat=True)


def feedback_request(rng: random.Random, env: WebEnv) -> Request:
    headers = {"Content-Type": "application/json", **client_headers(rng)}
    service = rng.choice(env.services) if rng.random() < 0.6 else rng.choice((mutate(rng, rng.choice(env.services)),
                                                                              bad_text(rng), random_json(rng)))
    r = rng.random()
    if r < 0.5:
        body: Any = {"sender": rng.choice((valid_sender(rng), bad_sender(rng))), "service": service,
                     "helpful": rng.choice((True, False, random_json(rng)))}
        if rng.random() < 0.5:
            body["question"] = rng.choice((bad_text(rng), "x" * 5000, random_json(rng)))
    elif r < 0.7:
        body = {k: random_json(rng) for k in rng.sample(["sender", "service", "helpful", "question", "x"], 3)}
    elif r < 0.85:
        body = random_json(rng)
    elif r < 0.95:
        return Request("POST", "/api/feedback", rng.choice((b"", b"{", b"\xff", b"{" * 9000)), headers)
    else:
        body = {"sender": valid_sender(rng), "service": service, "helpful": False, "question": "中" * 20000}
    return Request("POST", "/api/feedback", _encode(rng, body), headers)


_CONSOLE_GETS = ("/api/console/me", "/api/console/queue", "/api/console/services", "/api/console/overview",
                 "/api/console/review", "/console/", "/console", "/console/overview", "/console/login",
                 "/console/static/console.css", "/console/static/../../bot/config.py", "/api/console/",
                 "/api/console/nope", "/console/nope")


def _odd_number(rng: random.Random) -> str:
    return str(rng.choice((1, 2, 3, 0, -1, 2**31, 2**63, 10**30, "²", "١", "１", "1e3", "0x10", " 1", "abc", "", "%00",
                           "9" * 400, rng.randint(-5, 50))))


def console_request(rng: random.Random, env: WebEnv, signed_in: bool) -> Request:
    from urllib.parse import quote

    headers = dict(client_headers(rng))
    if signed_in and rng.random() < 0.9:
        headers.update(env.staff_origin)
    elif rng.random() < 0.3:
        headers["Origin"] = rng.choice(("https://evil.example", "null", random_text(rng, 20).strip()))
    def q(v: Any) -> str:
        return quote(str(v).encode("utf-8", "surrogatepass"), safe="")

    r = rng.random()
    if r < 0.2:
        service = rng.choice(env.services) if rng.random() < 0.6 else bad_text(rng)
        params = [f"service={q(service)}"]
        if rng.random() < 0.6:
            params.append(f"region={q(rng.choice(('杭州', '西湖区', '秦皇岛', bad_text(rng))))}")
        if rng.random() < 0.6:
            params.append(f"age={q(_odd_number(rng))}")
        return Request("GET", "/api/console/guide?" + "&".join(params), b"", headers)
    if r < 0.35:
        reveal = rng.choice(("", "?reveal=1", "?reveal=" + q(bad_text(rng))))
        return Request("GET", f"/api/console/handoffs/{q(_odd_number(rng))}{reveal}", b"", headers)
    if r < 0.55:
        action = rng.choice(("take", "reply", "finish", "nope"))
        body = rng.choice(({"text": bad_text(rng)}, {"back_to_bot": random_json(rng)}, random_json(rng),
                           {"text": "您好，我是人工客服。"}))
        headers["Content-Type"] = "application/json"
        return Request("POST", f"/api/console/handoffs/{q(_odd_number(rng))}/{action}", _encode(rng, body), headers)
    if r < 0.65:
        headers["Content-Type"] = "application/json"
        body = rng.choice(({"text": bad_text(rng)}, {"text": rng.choice(CITIZEN_MESSAGES), "region": bad_text(rng)},
                           random_json(rng), {"text": "中" * 3000}))
        return Request("POST", "/api/console/assist", _encode(rng, body), headers)
    if r < 0.72:
        headers["Content-Type"] = "application/json"
        body = {"label": rng.choice((rng.choice(env.services), "out_of_scope", bad_text(rng), random_json(rng)))}
        return Request("POST", f"/api/console/review/{q(_odd_number(rng))}", _encode(rng, body), headers)
    if r < 0.8:
        return Request("GET", f"/console/overview?days={q(_odd_number(rng))}", b"", headers)
    if r < 0.9:
        path = rng.choice(_CONSOLE_GETS)
        method = "GET" if rng.random() < 0.8 else rng.choice(("POST", "PUT", "DELETE"))
        return Request(method, path, b"", headers)
    # sign-in attempts (never with the fuzz operator's name: that would lock it out)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    form = {"name": rng.choice(("wang.li", bad_text(rng)[:80], "x" * 300)), "password": bad_text(rng)[:300]}
    raw = "&".join(f"{q(k)}={q(v)}" for k, v in form.items()).encode()
    if rng.random() < 0.2:
        raw = rng.choice((b"name=%ff%fe&password=%00", b"&&&===", b"\xff" * 100, b"name=" + b"a" * 20000))
    return Request("POST", "/console/login", raw, headers)


async def send(client: TestClient, req: Request, tally: Tally, where: str, catcher: TracebackCatcher) -> None:
    """One request; its outcome counted in ``tally``."""
    tally.inputs += 1
    tally.valid += req.expect_reply
    try:
        async with client.request(req.method, req.path, data=req.data, headers=req.headers,
                                  allow_redirects=False) as resp:
            raw = await resp.read()
            status = resp.status
    except ValueError as exc:  # the client library refuses to send it (e.g. a newline in a header)
        if "header" not in str(exc):
            raise
        tally.statuses["unsendable"] += 1
        return
    except Exception as exc:  # noqa: BLE001 - the connection died: the server crashed
        tally.crash(where, (req.method, req.path, req.data[:300]), exc)
        return
    tally.statuses[status] += 1
    given = (req.method, req.path, req.data[:300].decode("utf-8", "replace"))
    text = raw.decode("utf-8", "replace")
    if status >= 500 and status != 503 or "Traceback (most recent call last)" in text:
        tally.failure("server_error", where, given, f"HTTP {status}\n{catcher.take() or text[:500]}")
        return
    if status == 503 and not text.strip():
        tally.failure("server_error", where, given, "HTTP 503 without an explanation")
        return
    if status == 429:
        tally.throttled += 1
        return
    messages = None
    if status == 200 and req.chat:
        try:
            answer = json.loads(text)
            messages, with_staff = answer.get("messages"), answer.get("handoff") is True
        except (ValueError, AttributeError):
            messages, with_staff = None, False
        if not messages and with_staff:  # a person serves this conversation: the bot stays silent
            tally.statuses["kept for the desk"] += 1
        elif not messages:
            tally.failure("lost", where, given, f"HTTP 200 without messages: {short(text, 300)}")
            return
    if req.expect_reply:
        if status != 200:
            tally.failure("lost", where, given, f"a citizen message answered HTTP {status}: {short(text, 300)}")
            return
        tally.replied += 1


async def run_requests(env: WebEnv, make, n: int, where: str, client: Optional[TestClient] = None,
                       concurrency: int = 8, seed: int = 0) -> Tally:
    rng = random.Random(seed)
    tally = Tally(where)
    client = client or env.client
    started = time.monotonic()
    queue: asyncio.Queue = asyncio.Queue()
    for _ in range(n):
        queue.put_nowait(make(rng, env))

    async def worker() -> None:
        while not queue.empty():
            req = queue.get_nowait()
            if client is env.client and rng.random() < 0.8:
                client.session.cookie_jar.clear()  # a new citizen (a cookie-named conversation starts afresh)
            await send(client, req, tally, where, env.catcher)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    tally.seconds = time.monotonic() - started
    return tally


async def fuzz_web_chat(env: WebEnv, n: int, seed: int = 1) -> Tally:
    return await run_requests(env, chat_request, n, "web chat API", seed=seed)


async def fuzz_feedback(env: WebEnv, n: int, seed: int = 2) -> Tally:
    return await run_requests(env, feedback_request, n, "feedback API", seed=seed)


async def _seed_console(env: WebEnv) -> None:
    """Real handoffs and review items, so the console routes have something to act on."""
    for i in range(5):
        await env.client.post("/api/chat", json={"sender": f"fuzzHandoff{i:04d}", "text": "转人工"},
                              headers={"X-Forwarded-For": f"10.9.9.{i + 1}"})


async def fuzz_console(env: WebEnv, n: int, seed: int = 3) -> Tally:
    await _seed_console(env)
    staff = await env.sign_in()
    signed = await run_requests(env, lambda rng, e: console_request(rng, e, True), n - n // 4, "console API",
                                client=staff, seed=seed)
    anon_client = TestClient(env.client.server)
    await anon_client.start_server()
    try:
        anon = await run_requests(env, lambda rng, e: console_request(rng, e, False), n // 4, "console API",
                                  client=anon_client, seed=seed + 100)
    finally:
        await anon_client.session.close()
    signed.merge(anon)
    return signed


def pairs(tallies: List[Tally]) -> List[Tuple[str, bool]]:
    return [(t.name, t.ok) for t in tallies]
