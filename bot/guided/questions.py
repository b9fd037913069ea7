"""Short answers to questions asked in the middle of a form ("冷静期是多少天？" while
booking): the form answers them and goes on with its own question.

The answers come from the catalogue's FAQ entries (``bot/content/faq/*.yml``, one
fact each with its legal basis), selected by the same index as a first reply
(``bot.faq``), restricted to the services the form deals with; without a matching
entry, the first paragraph of the service's guide. Nothing here decides
whether a question leaves the form: ``GuidedForm.leaves_for`` does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from .. import render
from ..assistant import service_for_intent

if TYPE_CHECKING:
    from .context import Guided

MAX_CHARS = 300  # an answer inside a form stays short: the form goes on after it
# Inside a form a message is first of all a possible answer: an FAQ entry must fit it
# more closely than for a first reply (bot.faq.THRESHOLD) before it is taken as a question.
IN_FORM_SCORE = 0.5


def _short(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS].rstrip() + "……"


def faq_answer(ctx: Guided, text: str, services: Sequence[str], region: Optional[str] = None) -> Optional[str]:
    """The best FAQ answer (the catalogue's own index, as for a first reply) among the
    entries of ``services``, with its legal basis in one line; None when none fits."""
    index = ctx.assistant.catalog.faq()
    matches = [ranked[0] for ranked in (index.scores(text, s) for s in services) if ranked]
    best = max(matches, key=lambda m: m.score, default=None)
    if best is None or best.score < max(IN_FORM_SCORE, index.threshold):
        return None
    chain = [r.code for r in ctx.assistant.catalog.region_index().chain(region)] if region else []
    a = best.faq.answer_for(chain)
    legal = render.macro("sections.j2", "legal_line", "text", items=a.legal_basis) if a.legal_basis else ""
    return _short(a.text) + (f"\n{legal}" if legal else "")


def answer(ctx: Guided, text: str, intent: Optional[str], related: Sequence[str], region: Optional[str]
           ) -> Optional[str]:
    """A short answer to a question asked inside a form, or None (then the form treats
    the message as not understood)."""
    services = [s for s in (service_for_intent(i) for i in related) if s]
    own = service_for_intent(intent) if intent in related else None
    found = (faq_answer(ctx, text, [own] if own else services, region)
             or (faq_answer(ctx, text, services, region) if own else None))
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
