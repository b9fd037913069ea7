"""``python -m bot ask --url``: the token of the server ``make run`` starts, and one clear
line with exit code 1 instead of a traceback when Rasa answers with an error
(issue 13, reliability 5). A tiny aiohttp server plays Rasa."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading

import pytest
from aiohttp import web

from bot import config
from bot.config import PROJECT_ROOT
from bot.stack import free_port

TOKEN = "token-of-the-fake-rasa-0123456789"


class FakeRasa:
    """Answers like Rasa: the REST channel needs no token, the tracker needs ``?token=``."""

    def __init__(self, token: str, status: int | None = None, delay: float = 0.0, html: bool = False):
        self.token, self.status, self.delay, self.html = token, status, delay, html
        self.port = free_port()
        self.seen_tokens: list = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _rest(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        if self.status:
            return web.json_response({"status": "failure"}, status=self.status)
        if self.html:
            return web.Response(text="<html>hello</html>", content_type="text/html")
        body = await request.json()
        return web.json_response([{"recipient_id": body["sender"], "text": "您好"}])

    async def _tracker(self, request: web.Request) -> web.Response:
        self.seen_tokens.append(request.query.get("token"))
        if request.query.get("token") != self.token:
            return web.json_response({"version": "3.6.21", "status": "failure", "reason": "NotAuthenticated",
                                      "message": "User is not authenticated.", "code": 401}, status=401)
        return web.json_response({"latest_message": {"intent": {"name": "greet", "confidence": 0.99}}})

    def __enter__(self) -> FakeRasa:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._rest)
        app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        self.runner = web.AppRunner(app)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def ask(url: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "RASA_TOKEN"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", "ask", "--url", url, *args], input="你好\n",
                          capture_output=True, text=True, cwd=PROJECT_ROOT, env=full_env, timeout=120)


def assert_one_line_error(res: subprocess.CompletedProcess, *fragments: str) -> None:
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_wrong_token_is_one_clear_line():
    with FakeRasa(TOKEN) as rasa:
        res = ask(rasa.url, "--token", "not-the-token")
    assert_one_line_error(res, "HTTP 401", "--token", "RASA_TOKEN", "var/rasa-token")
    assert res.stdout == ""


def test_the_token_comes_from_rasa_token_like_the_server():
    with FakeRasa(TOKEN) as rasa:
        res = ask(rasa.url, env={"RASA_TOKEN": TOKEN})
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["intent"] == "greet"
    assert rasa.seen_tokens == [TOKEN]


def test_without_rasa_token_it_uses_the_generated_token_file(monkeypatch):
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    generated = config.rasa_token()  # what a server started by `make run` uses
    with FakeRasa(generated) as rasa:
        res = ask(rasa.url)
    assert res.returncode == 0, res.stderr
    assert rasa.seen_tokens == [generated]


@pytest.mark.parametrize("status,fragment", [(404, "HTTP 404"), (500, "HTTP 500"), (403, "HTTP 403")])
def test_http_errors_of_the_rest_channel(status, fragment):
    with FakeRasa(TOKEN, status=status) as rasa:
        res = ask(rasa.url, "--token", TOKEN)
    assert_one_line_error(res, fragment, rasa.url)


def test_connection_refused():
    url = f"http://127.0.0.1:{free_port()}"
    assert_one_line_error(ask(url), "cannot connect to Rasa", url)


def test_timeout():
    with FakeRasa(TOKEN, delay=5) as rasa:
        res = ask(rasa.url, "--token", TOKEN, "--timeout", "0.5")
    assert_one_line_error(res, "did not answer within 0.5 s")


def test_not_rasa_at_all():
    with FakeRasa(TOKEN, html=True) as rasa:
        res = ask(rasa.url, "--token", TOKEN)
    assert_one_line_error(res, "did not answer with JSON")
