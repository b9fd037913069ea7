"""Issue 16 §3: every Rasa-side list of services agrees with the catalogue.

The catalogue (bot/content/services/*.yml) is the one list of services; its intents are
the codes with "_" for "." (bot.assistant.intent_for). domain.yml, data/rules/services.yml,
the training data and every table of service intents in code are checked against it, so
a new service touches only its content file and its training data (and these lists,
which this test then names).
"""
from __future__ import annotations

import re

import pytest
import yaml

from bot.assistant import GUIDE_NEXT, intent_for, service_for_intent
from bot.catalog.schema import DOMAINS
from bot.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def service_intents(content):
    return {intent_for(s.code) for s in content.services}


def _yaml(path):
    return yaml.safe_load((PROJECT_ROOT / path).read_text(encoding="utf-8"))


def _looks_like_service(intent: str) -> bool:
    return intent.split("_", 1)[0] in DOMAINS and "_" in intent


def test_intent_names_round_trip(content):
    for s in content.services:
        assert service_for_intent(intent_for(s.code)) == s.code


def test_domain_lists_exactly_the_catalogue_service_intents(service_intents):
    intents = {i if isinstance(i, str) else next(iter(i)) for i in _yaml("domain.yml")["intents"]}
    assert service_intents <= intents, f"missing from domain.yml: {sorted(service_intents - intents)}"
    extra = {i for i in intents if _looks_like_service(i)} - service_intents
    assert not extra, f"service-like intents in domain.yml that the catalogue does not have: {sorted(extra)}"


def test_service_rule_routes_exactly_the_catalogue_services(service_intents):
    rules = _yaml("data/rules/services.yml")["rules"]
    routed = set()
    for rule in rules:
        for step in rule.get("steps", []):
            for option in step.get("or", []) if isinstance(step, dict) else []:
                if "intent" in option and _looks_like_service(option["intent"]):
                    routed.add(option["intent"])
            if isinstance(step, dict) and "intent" in step and _looks_like_service(step["intent"]):
                routed.add(step["intent"])
    assert routed == service_intents, (sorted(service_intents - routed), sorted(routed - service_intents))


def test_every_service_intent_has_training_data(service_intents):
    seen = set()
    for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in block:
                seen.add(block["intent"])
    assert service_intents <= seen, sorted(service_intents - seen)
    unknown = {i for i in seen if _looks_like_service(i)} - service_intents
    assert not unknown, f"training data for intents the catalogue does not have: {sorted(unknown)}"


def test_guided_service_intents_are_read_from_the_catalogue(service_intents):
    from bot.guided.engine import SERVICE_INTENTS

    assert SERVICE_INTENTS == service_intents


def test_intent_tables_in_code_name_catalogue_services(service_intents, content):
    from bot.guided.forms import FORMS

    codes = {s.code for s in content.services}
    for form in FORMS:
        assert set(getattr(form, "related", ())) <= service_intents, form.__name__
    assert set(GUIDE_NEXT) <= codes


def test_router_prefixes_are_the_catalogue_domains(content):
    source = (PROJECT_ROOT / "nlu_ext" / "router.py").read_text(encoding="utf-8")
    prefixes = set(re.findall(r'"([a-z]+)_"', re.search(r"SERVICE_PREFIXES = \(([^)]*)\)", source).group(1)))
    assert prefixes == set(DOMAINS) == {s.domain for s in content.services}


def test_web_chat_has_no_list_of_services():
    """The web chat's welcome buttons are the catalogue's menu, put in the page by the server
    (bot.web.server, tests/test_web_server.py); chat.js itself names no service intent."""
    js = (PROJECT_ROOT / "bot" / "web" / "static" / "chat.js").read_text(encoding="utf-8")
    payloads = re.findall(r'payload: "/([a-z_]+)"', js)
    assert not [p for p in payloads if _looks_like_service(p)], payloads
