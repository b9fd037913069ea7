"""actions.backend: a low-confidence guide is kept for staff review without the citizen
waiting for the write, and a failing write never fails the action."""
from __future__ import annotations

import threading

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from actions import backend
from bot.review import ReviewDesk


@pytest.fixture(autouse=True)
def use_test_catalog(monkeypatch, catalog_url):
    monkeypatch.setenv("MINZHENG_DB_URL", catalog_url)
    backend.reset()
    yield
    backend.reset()


def unsure_question(text: str) -> Tracker:
    return Tracker.from_dict({
        "sender_id": "review-user",
        "slots": {"service": None, "region": None, "age": None, "awaiting_region": None, "region_asked": None},
        "latest_message": {"text": text, "intent": {"name": "elder_age_allowance", "confidence": 0.41},
                           "entities": [], "intent_ranking": [], "metadata": {"channel": "web"}},
        "events": [], "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "action_listen",
    })


def pending(db_url: str, text: str):
    return [i for i in ReviewDesk(db_url).pending() if i.text == text]


async def test_the_reply_does_not_wait_for_the_review_write(monkeypatch, catalog_url):
    text = "老人钱咋领 review-nowait"
    release, started = threading.Event(), threading.Event()
    original = ReviewDesk.record

    def slow_record(self, *args, **kwargs):
        started.set()
        assert release.wait(10)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ReviewDesk, "record", slow_record)
    dispatcher = CollectingDispatcher()
    events = await A.ActionServiceGuide().run(dispatcher, unsure_question(text), {})
    # answered and returned while the write is still held
    assert dispatcher.messages[0]["custom"]["kind"] == "guide"
    assert {"event": "slot", "timestamp": None, "name": "service", "value": "elder.age_allowance"} in events
    assert started.wait(10) and pending(catalog_url, text) == []
    release.set()
    await backend.drain()
    [item] = pending(catalog_url, text)
    assert item.source == "low_confidence" and item.channel == "web" and item.service == "elder.age_allowance"


async def test_a_failing_review_write_is_logged_not_raised(monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    def broken(self, *args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(ReviewDesk, "record", broken)
    dispatcher = CollectingDispatcher()
    await A.ActionServiceGuide().run(dispatcher, unsure_question("老人钱咋领 review-broken"), {})
    await backend.drain()
    assert dispatcher.messages[0]["custom"]["kind"] == "guide"
    assert "review item not recorded (OperationalError)" in caplog.text
