"""Assist mode: what the caller said -> the three most likely services, and the guide
(full and a short read-aloud version) for the chosen service and the caller's region.

Uses the same NLU model as the bot (Rasa's ``/model/parse`` HTTP API, token required)
and the same catalogue and templates; nothing is stored about the call.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional

from aiohttp import ClientSession

from .. import rasa_client, render
from ..assistant import Assistant, service_for_intent
from ..catalog.queries import Catalog

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    service: str
    name: str
    confidence: float


def candidates(parse: Dict[str, Any], catalog: Catalog, n: int = 3) -> List[Candidate]:
    """Service intents from Rasa's ranking, best first (conversation intents are skipped)."""
    out: List[Candidate] = []
    for item in parse.get("intent_ranking") or []:
        code = service_for_intent(item.get("name"))
        info = catalog.service(code) if code else None
        if info is None or any(c.service == code for c in out):
            continue
        out.append(Candidate(code, info.name, round(float(item.get("confidence") or 0.0), 3)))
        if len(out) == n:
            break
    return out


async def parse(http: ClientSession, rasa_url: str, token: str, text: str) -> Optional[Dict[str, Any]]:
    """Rasa's NLU result for ``text``, or None when Rasa is unavailable (bot.rasa_client.parse)."""
    return await rasa_client.parse(http, rasa_url, token, text)


def region_of(catalog: Catalog, text: Optional[str]) -> Optional[Dict[str, str]]:
    if not text:
        return None
    ref = catalog.find_region(text)
    if ref is None:
        return None
    return {"code": ref.code, "name": catalog.region_index().full_name(ref.code)}


def guide(catalog: Catalog, service: str, region_code: Optional[str], age: Optional[int] = None,
          text: str = "") -> Dict[str, Any]:
    """The guide, its read-aloud version and, when the caller's words match one, the FAQ
    answer (with its legal basis) for the operator to read out first."""
    a = Assistant(catalog)
    reply = a.guide(service, region_code, age)
    g = catalog.guide(service, region_code, age)
    return {"service": service, "text": reply.text, "html": reply.html,
            "read_aloud": render.render("read_aloud.j2", fmt="text", g=g),
            "faq": a.operator_answer(service, text, region_code) if text.strip() else None}


def as_dicts(items: List[Candidate]) -> List[Dict[str, Any]]:
    return [asdict(c) for c in items]
