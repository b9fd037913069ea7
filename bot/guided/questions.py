"""Short answers to questions asked in the middle of a form ("冷静期是多少天？" while
booking): the form answers them and goes on with its own question.

The answers come from the FAQ entries in ``bot/content/faq/*.yml`` (one fact each,
with its legal basis), restricted to the services the form deals with; without a
matching entry, the first paragraph of the service's guide. Nothing here decides
whether a question leaves the form: ``GuidedForm.leaves_for`` does.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import yaml

from ..assistant import service_for_intent
from ..config import CONTENT_DIR
from ..normalize import compact

if TYPE_CHECKING:
    from .context import Guided

FAQ_DIR = CONTENT_DIR / "faq"
MAX_CHARS = 300  # an answer inside a form stays short: the form goes on after it


@dataclass(frozen=True)
class Entry:
    service: str
    questions: Tuple[str, ...]
    keywords: Tuple[str, ...]
    answer: str
    basis: str


@lru_cache(maxsize=1)
def entries() -> Tuple[Entry, ...]:
    out: List[Entry] = []
    for path in sorted(FAQ_DIR.glob("*.yml")) if FAQ_DIR.is_dir() else []:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for raw in data.get("faq") or []:
            if not isinstance(raw, dict) or not raw.get("answer") or not raw.get("service"):
                continue
            basis = "；".join(
                f"{b.get('title', '')}{b.get('article', '')}" for b in raw.get("legal_basis") or []
                if isinstance(b, dict) and b.get("title"))
            out.append(Entry(str(raw["service"]), tuple(str(q) for q in raw.get("questions") or []),
                             tuple(str(k) for k in raw.get("keywords") or []), str(raw["answer"]).strip(), basis))
    return tuple(out)


def _overlap(a: str, b: str) -> float:
    """Share of the question's character bigrams found in a known question."""
    grams = {a[i:i + 2] for i in range(len(a) - 1)}
    if not grams:
        return 0.0
    other = {b[i:i + 2] for i in range(len(b) - 1)}
    return len(grams & other) / len(grams)


def faq_answer(text: str, services: Sequence[str]) -> Optional[str]:
    """The FAQ entry of ``services`` that best answers ``text``, or None."""
    t = compact(text)
    best: Tuple[float, Optional[Entry]] = (0.0, None)
    for e in entries():
        if e.service not in services:
            continue
        keywords = sum(1 for k in e.keywords if k and k in t)
        similar = max((_overlap(t, compact(q)) for q in e.questions), default=0.0)
        score = similar + 0.25 * keywords
        if score > best[0]:
            best = (score, e)
    score, entry = best
    if entry is None or score < 0.5:
        return None
    answer = entry.answer if len(entry.answer) <= MAX_CHARS else entry.answer[:MAX_CHARS].rstrip() + "……"
    return answer + (f"（依据：{entry.basis}）" if entry.basis else "")


def answer(ctx: Guided, text: str, intent: Optional[str], related: Sequence[str], region: Optional[str]
           ) -> Optional[str]:
    """A short answer to a question asked inside a form, or None (then the form treats
    the message as not understood)."""
    services = [s for s in (service_for_intent(i) for i in related) if s]
    own = service_for_intent(intent) if intent in related else None
    found = faq_answer(text, [own] if own else services) or (faq_answer(text, services) if own else None)
    if found:
        return found
    if own is None or ctx.assistant.catalog.service(own) is None:
        return None
    guide = ctx.assistant.guide(own, region).text
    # the guide's heading and first paragraph: what the service is, in a few sentences
    paragraph = guide.split("\n\n", 1)[0].strip()
    if len(paragraph) > MAX_CHARS:
        paragraph = paragraph[:MAX_CHARS].rstrip() + "……"
    name = ctx.assistant.catalog.service(own).name
    return f"{paragraph}\n（完整的{name}办事指南，办完这一步后问我就行。）"
