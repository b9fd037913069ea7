"""The first reply answers the question (issue 15), on the held-out set
tests/nlu/faq_heldout.tsv: specific questions written separately from the FAQ
phrasings, each with the service it is about and a fact its first reply must
contain in the first sentences.

The fast test goes through the domain (``Assistant.answer`` with the expected
service, region and age read from the text as the action does); the slow one
through the trained model and the running servers (``python -m bot ask``).
Figures: docs/faq.md.
"""
from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import List, Tuple

import pytest

from bot.ages import parse_age
from bot.normalize import compact

HELDOUT = Path(__file__).parent / "nlu" / "faq_heldout.tsv"
MIN_FACT_RATE = 0.85  # share of first replies with the fact in their first sentences
MAX_MEDIAN_CHARS = 400
LEAD_SENTENCES = 3
_SENTENCE = re.compile(r"(?<=[。！？!?])|\n")


def heldout() -> List[Tuple[str, str, str]]:
    rows = []
    for line in HELDOUT.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("question\t"):
            continue
        question, service, fact = line.split("\t")
        rows.append((question, service, fact))
    return rows


def lead(reply: str) -> str:
    """The first sentences of a reply, after its heading line (【…】)."""
    lines = reply.splitlines()
    if lines and lines[0].startswith("【"):
        lines = lines[1:]
    sentences = [s for s in _SENTENCE.split("\n".join(lines)) if s and s.strip()]
    return "".join(sentences[:LEAD_SENTENCES])


def score(replies: List[Tuple[str, str, str, str]]):
    """(share with the fact in the lead, median length, misses)."""
    misses = [(q, fact, r) for q, _, fact, r in replies if fact not in lead(r)]
    rate = 1 - len(misses) / len(replies)
    return rate, statistics.median(len(r) for *_, r in replies), misses


def test_heldout_is_large_and_separate_from_the_faq(content):
    rows = heldout()
    assert len(rows) >= 100
    phrasings = {compact(q) for e in content.faq for q in e.questions}
    copied = [q for q, _, _ in rows if compact(q) in phrasings]
    assert not copied, f"held-out questions copied from the FAQ: {copied}"
    services = {s.code for s in content.services}
    assert {s for _, s, _ in rows} == services  # every service is tested


def test_first_replies_through_the_domain(assistant):
    replies = []
    for question, service, fact in heldout():
        ref = assistant.catalog.find_region(question)
        reply = assistant.answer(service, question, ref.code if ref else None, parse_age(question))
        replies.append((question, service, fact, reply.text))
    rate, median, misses = score(replies)
    detail = "\n".join(f"{q} | {f} | {lead(r)}" for q, f, r in misses)
    assert rate >= MIN_FACT_RATE, f"fact in the first sentences: {rate:.1%}\n{detail}"
    assert median <= MAX_MEDIAN_CHARS, median


@pytest.mark.slow
def test_first_replies_through_the_model(catalog_url):
    from .conftest import require_model
    from .test_e2e_ask import ask

    require_model()
    rows = heldout()
    out = ask([q for q, _, _ in rows], env={"MINZHENG_DB_URL": catalog_url}, timeout=1800)
    replies = [(q, s, f, o["reply"] or "") for (q, s, f), o in zip(rows, out, strict=True)]
    routed = sum(o["service"] == s for (_, s, _), o in zip(rows, out, strict=True)) / len(rows)
    rate, median, misses = score(replies)
    detail = "\n".join(f"{q} | {f} | {lead(r)}" for q, f, r in misses[:40])
    assert rate >= MIN_FACT_RATE, f"fact in the first sentences: {rate:.1%} (routed {routed:.1%})\n{detail}"
    assert median <= MAX_MEDIAN_CHARS, median
