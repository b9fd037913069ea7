"""Conversations survive a restart of Rasa (issue 13, reliability 1): the stack of
``make run`` keeps them in Rasa's SQL tracker store on SQLite, so a booking form
started before the restart goes on after it, at the same question."""
from __future__ import annotations

import uuid

import pytest
import requests

from bot.ask import RasaClient
from bot.stack import Stack, free_port

from .conftest import require_model

pytestmark = pytest.mark.slow


def tracker(stack: Stack, sender: str) -> dict:
    r = requests.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                     params={"token": stack.token, "include_events": "NONE"}, timeout=30)
    r.raise_for_status()
    return r.json()


def form_state(t: dict) -> tuple:
    slots = t.get("slots") or {}
    return (t.get("active_loop") or {}).get("name"), slots.get("requested_slot")


def test_a_booking_form_continues_after_a_rasa_restart(tmp_path, catalog_url):
    stack = Stack(rasa_port=free_port(), action_port=free_port(), web_port=None, model=require_model(),
                  env={"MINZHENG_DB_URL": catalog_url}, tracker_db=tmp_path / "tracker.db",
                  log_dir=tmp_path / "log")
    with stack:
        client = RasaClient(stack.rasa_url, stack.token, timeout=120)
        sender = f"restart-{uuid.uuid4().hex[:10]}"

        def say(text: str) -> str:
            return "\n".join(m.get("text") or "" for m in client.send(sender, text))

        say("帮我预约结婚登记")
        say("西湖区")
        asked = say("杭州市西湖区婚姻登记处")
        before = tracker(stack, sender)
        loop, slot = form_state(before)
        assert loop and slot, f"a form asks a question before the restart: {asked!r}"

        old_pid = stack.running["rasa"].pid
        stack.restart("rasa")
        assert stack.running["rasa"].pid != old_pid

        after = tracker(stack, sender)
        assert form_state(after) == (loop, slot), "the form and its question survive the restart"
        assert {k: v for k, v in after["slots"].items() if v is not None} == \
            {k: v for k, v in before["slots"].items() if v is not None}

        reply = say("1998年3月2日")
        next_loop, next_slot = form_state(tracker(stack, sender))
        assert next_loop == loop, f"the same form goes on: {reply!r}"
        assert next_slot != slot, f"the answer was taken and the form asks its next question: {reply!r}"
        assert "抱歉，我不太确定" not in reply and "您好" not in reply.split("\n")[0]
