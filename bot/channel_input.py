"""Checks every channel applies to what a citizen sends before it reaches Rasa.

Typed text never reaches Rasa as an intent payload (Rasa reads a leading "/" as
one), button payloads must name a known intent, and empty or oversized input is
answered or trimmed instead of failing.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import FrozenSet, Optional

import yaml

from .catalog.schema import ENTRY_ID
from .config import PROJECT_ROOT

MAX_TEXT = 1000
_PAYLOAD = re.compile(r"^/([a-z][a-z_]{0,63})(\{.{0,300}\})?$")
_ALLOWED_ENTITIES = frozenset({"region", "age", "entry"})


@lru_cache(maxsize=1)
def known_intents() -> FrozenSet[str]:
    with (PROJECT_ROOT / "domain.yml").open(encoding="utf-8") as fh:
        domain = yaml.safe_load(fh)
    return frozenset(i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents", []))


@dataclass(frozen=True)
class Prepared:
    message: Optional[str]  # what to send to Rasa, or None
    problem: Optional[str] = None  # "empty" | "unknown_payload"


def prepare_text(text: Optional[str]) -> Prepared:
    """Typed text: trimmed, shortened, never an intent payload."""
    text = (text or "").strip()
    text = text.lstrip("/／").strip()
    if not text:
        return Prepared(None, "empty")
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    return Prepared(text)


def prepare_payload(payload: Optional[str]) -> Prepared:
    """A button payload: '/intent' or '/intent{"region": "杭州"}' with a known intent,
    or an answer in words (the form buttons send "是", "11月27日"...), which is
    treated exactly like typed text."""
    raw = (payload or "").strip()
    if raw and not raw.startswith(("/", "／")):
        return prepare_text(raw)
    m = _PAYLOAD.match(raw)
    if not m or m.group(1) not in known_intents():
        return Prepared(None, "unknown_payload")
    if m.group(2):
        try:
            entities = json.loads(m.group(2))
        except ValueError:
            return Prepared(None, "unknown_payload")
        if not isinstance(entities, dict) or not set(entities) <= _ALLOWED_ENTITIES:
            return Prepared(None, "unknown_payload")
        if not all(isinstance(v, (str, int)) and len(str(v)) <= 64 for v in entities.values()):
            return Prepared(None, "unknown_payload")
        if "entry" in entities and not ENTRY_ID.match(str(entities["entry"])):
            return Prepared(None, "unknown_payload")
    return Prepared(payload.strip())
