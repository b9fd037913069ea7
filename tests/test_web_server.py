"""The web chat proxy (bot/web/server.py) against a fake Rasa REST endpoint."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.stack import free_port
from bot.web.server import create_app

SENDER = "abcdEFGH1234_-"


@pytest.fixture
async def fake_rasa():
    received = []

    async def webhook(request):
        body = await request.json()
        received.append(body)
        if body["message"] == "boom":
            return web.json_response({"error": "x"}, status=500)
        if body["message"] == "silent":
            return web.json_response([])
        return web.json_response([
            {"recipient_id": body["sender"], "text": "答复",
             "buttons": [{"title": "所需材料", "payload": "/ask_materials"}]},
            {"recipient_id": body["sender"], "custom": {"kind": "guide", "service": "assistance.dibao",
                                                        "html": "<b>答复</b>"}},
        ])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")), received
    await server.close()


@pytest.fixture
def settings():
    return Settings(db_url="sqlite://", rasa_url="", web_host="127.0.0.1", web_port=0, hotline="12345")


async def client_for(url, settings):
    client = TestClient(TestServer(create_app(url, settings)))
    await client.start_server()
    return client


async def test_text_is_forwarded_and_merged(fake_rasa, settings):
    url, received = fake_rasa
    client = await client_for(url, settings)
    try:
        resp = await client.post("/api/chat", json={"sender": SENDER, "text": "/低保怎么申请"})
        data = await resp.json()
        assert resp.status == 200 and data["ok"] is True
        assert received[-1]["message"] == "低保怎么申请"  # leading slash removed from typed text
        assert received[-1]["sender"] == f"web-{SENDER}"
        [m] = data["messages"]
        assert m["text"] == "答复" and m["html"] == "<b>答复</b>" and m["service"] == "assistance.dibao"
        assert m["buttons"] == [{"title": "所需材料", "payload": "/ask_materials"}]
    finally:
        await client.close()


async def test_payloads_are_checked(fake_rasa, settings):
    url, received = fake_rasa
    client = await client_for(url, settings)
    try:
        resp = await client.post("/api/chat", json={"sender": SENDER, "payload": '/inform_region{"region":"杭州"}'})
        assert (await resp.json())["ok"] and received[-1]["message"] == '/inform_region{"region":"杭州"}'
        n = len(received)
        resp = await client.post("/api/chat", json={"sender": SENDER, "payload": "/restart"})
        data = await resp.json()
        assert len(received) == n  # never forwarded
        assert data["messages"][0]["kind"] == "unknown_payload"
    finally:
        await client.close()


@pytest.mark.parametrize("body,status", [
    ({"sender": "short", "text": "hi"}, 400),
    ({"sender": "../../etc/passwd", "text": "hi"}, 400),
    ({"text": "hi"}, 400),
    (["not", "a", "dict"], 400),
])
async def test_bad_requests(fake_rasa, settings, body, status):
    client = await client_for(fake_rasa[0], settings)
    try:
        resp = await client.post("/api/chat", json=body)
        assert resp.status == status
    finally:
        await client.close()


async def test_empty_message_is_answered_locally(fake_rasa, settings):
    url, received = fake_rasa
    client = await client_for(url, settings)
    try:
        data = await (await client.post("/api/chat", json={"sender": SENDER, "text": "   "})).json()
        assert not received and "没有收到文字" in data["messages"][0]["text"]
        resp = await client.post("/api/chat", data=b"x" * 100_000, headers={"Content-Type": "application/json"})
        assert resp.status == 413
    finally:
        await client.close()


@pytest.mark.parametrize("message", ["boom", "silent"])
async def test_rasa_errors_become_an_apology(fake_rasa, settings, message):
    client = await client_for(fake_rasa[0], settings)
    try:
        data = await (await client.post("/api/chat", json={"sender": SENDER, "text": message})).json()
        assert data["ok"] is False and data["retry"] is True
        assert "12345" in data["messages"][0]["text"]
    finally:
        await client.close()


async def test_rasa_down_becomes_an_apology(settings):
    client = await client_for(f"http://127.0.0.1:{free_port()}", settings)
    try:
        data = await (await client.post("/api/chat", json={"sender": SENDER, "text": "低保"})).json()
        assert data["ok"] is False and "抱歉" in data["messages"][0]["text"]
        page = await client.get("/")
        assert page.status == 200 and "Content-Security-Policy" in page.headers
    finally:
        await client.close()
