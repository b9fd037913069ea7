"""actions.rasa_patches: Rasa's check of an action server response, with the validator
built once, accepts and rejects exactly what Rasa 3.6's own check does."""
from __future__ import annotations

import pytest

pytest.importorskip("rasa")

from jsonschema import ValidationError  # noqa: E402
from rasa.core.actions.action import RemoteAction  # noqa: E402

from actions import rasa_patches  # noqa: E402

ORIGINAL = RemoteAction._validate_action_result

VALID = [
    {"events": [], "responses": []},
    {},
    {
        "events": [
            {"event": "slot", "timestamp": None, "name": "service", "value": "marriage.register"},
            {"event": "slot", "timestamp": None, "name": "awaiting_region", "value": True},
            {"event": "followup", "timestamp": None, "name": "action_service_section"},
            {"event": "active_loop", "timestamp": None, "name": "booking_form"},
        ],
        "responses": [{"text": "您好", "buttons": [{"title": "杭州", "payload": "/inform_region"}],
                       "custom": {"kind": "guide", "service": "marriage.register", "html": "<b>x</b>"}}],
    },
]
INVALID = [
    {"events": [{"event": "slot", "name": 3}]},          # a slot event whose name is not a string
    {"events": [{"event": "no_such_event"}]},            # an unknown event type
    {"events": {"event": "slot"}},                       # events not a list
    {"responses": ["text"]},                             # a response that is not an object
    [],                                                  # not an object at all
]


@pytest.fixture()
def patched():
    installed = rasa_patches.install()
    yield
    if installed:  # leave RemoteAction as the other tests found it
        RemoteAction._validate_action_result = ORIGINAL
        delattr(RemoteAction, rasa_patches._INSTALLED)


def outcome(fn, result):
    try:
        return ("ok", fn(RemoteAction("action_x", None), result))
    except ValidationError as exc:
        return ("error", exc.message, list(exc.path), exc.validator)


@pytest.mark.parametrize("result", VALID + INVALID)
def test_the_cached_check_gives_rasas_verdict_and_message(result, patched):
    expected = outcome(ORIGINAL, result)
    assert outcome(RemoteAction._validate_action_result, result) == expected
    if result in INVALID:
        assert expected[0] == "error" and "Failed to validate Action server response" in expected[1]
    else:
        assert expected == ("ok", True)


def test_install_is_idempotent_and_patches_the_class(patched):
    assert RemoteAction._validate_action_result is rasa_patches.validate_action_result
    assert rasa_patches.install() is False
    assert RemoteAction._validate_action_result is rasa_patches.validate_action_result
