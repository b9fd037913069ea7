"""The real stack: the action server stopped in the middle of a conversation. Rasa
still answers 200 (it logs the failure and drops the action's events); the web chat
must not pass that off as an answer: the citizen gets the apology with the hotline
and a retry, and the conversation goes on once the action server is back."""
from __future__ import annotations

import pytest
import requests

from bot.stack import Stack, free_port

from .conftest import require_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_stack(catalog_url, tmp_path_factory):
    stack = Stack(rasa_port=free_port(), action_port=free_port(), web_port=free_port(), model=require_model(),
                  env={"MINZHENG_DB_URL": catalog_url}, tracker_db=tmp_path_factory.mktemp("tr") / "tracker.db",
                  log_dir=tmp_path_factory.mktemp("logs"))
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_action_server_down_mid_conversation(own_stack):
    web = requests.Session()
    url = own_stack.web_url + "api/chat"

    def say(text):
        resp = web.post(url, json={"text": text}, timeout=90)
        assert resp.status_code == 200
        return resp.json()

    first = say("结婚登记要带什么材料")
    assert first["ok"] is True and first["messages"]
    sender = "web-" + web.cookies["minzheng_chat"].split(".")[0]

    own_stack.stop_process("actions")
    try:
        # what Rasa itself says now: 200, and nothing of the failed action
        raw = requests.post(f"{own_stack.rasa_url}/webhooks/rest/webhook",
                            json={"sender": "probe-" + sender, "message": "低保怎么申请"}, timeout=90)
        assert raw.status_code == 200
        assert not any((m.get("custom") or {}).get("kind") == "guide" for m in raw.json())
        down = say("低保怎么申请")
        assert down["ok"] is False and down["retry"] is True
        assert [m["kind"] for m in down["messages"]] == ["unavailable"]
        assert "12345" in down["messages"][0]["text"]
    finally:
        own_stack.start_process("actions")
    again = say("低保怎么申请")
    assert again["ok"] is True and any(m["kind"] in ("guide", "ask_region") for m in again["messages"])
    # the same conversation: Rasa still knows what was asked before the outage
    tracker = requests.get(f"{own_stack.rasa_url}/conversations/{sender}/tracker",
                           params={"token": own_stack.token}, timeout=30).json()
    texts = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert texts[0] == "结婚登记要带什么材料"
