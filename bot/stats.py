"""Figures for the console's overview: questions per service per day, fallback rate,
handoffs and waiting time, satisfaction. Only kinds and service codes are counted;
no text and no sender is stored for this."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, List, Optional

from sqlalchemy import select

from .catalog import models
from .catalog.db import session_scope

FALLBACK_KINDS = ("clarify",)
# Times are stored in UTC; days are China Standard Time (UTC+8, no daylight saving).
CST = timedelta(hours=8)


def answer_kind(messages: List[Dict[str, Any]]) -> tuple:
    """(kind, service) of a bot answer made of merged messages (see bot.rasa_reply)."""
    for m in messages:
        if m.get("kind"):
            return str(m["kind"])[:32], m.get("service")
    return "other", None


def record(db_url: str, channel: str, messages: List[Dict[str, Any]],
           now: Callable[[], datetime] = datetime.utcnow) -> None:
    kind, service = answer_kind(messages)
    with session_scope(db_url) as s:
        s.add(models.QuestionStat(at=now(), channel=channel, kind=kind, service=service))


@dataclass
class Overview:
    days: List[date]
    per_service: Dict[str, List[int]]  # service code -> count per day
    questions: int
    fallbacks: int
    handoffs: int
    handoffs_taken: int
    handoffs_timed_out: int
    avg_wait_seconds: Optional[float]
    max_wait_seconds: Optional[int]
    ratings: int
    helpful: int
    per_day_total: List[int] = field(default_factory=list)

    @property
    def fallback_rate(self) -> Optional[float]:
        return self.fallbacks / self.questions if self.questions else None

    @property
    def satisfaction(self) -> Optional[float]:
        return self.helpful / self.ratings if self.ratings else None


def overview(db_url: str, days: int = 14, now: Callable[[], datetime] = datetime.utcnow) -> Overview:
    end = now() + CST
    first = (end - timedelta(days=days - 1)).date()
    day_list = [first + timedelta(days=i) for i in range(days)]
    since = datetime.combine(first, datetime.min.time()) - CST  # back to UTC
    index = {d: i for i, d in enumerate(day_list)}
    per_service: Dict[str, List[int]] = defaultdict(lambda: [0] * days)
    totals = [0] * days
    fallbacks = 0
    with session_scope(db_url) as s:
        for at, kind, service in s.execute(select(models.QuestionStat.at, models.QuestionStat.kind,
                                                  models.QuestionStat.service)
                                           .where(models.QuestionStat.at >= since)):
            i = index.get((at + CST).date())
            if i is None:
                continue
            totals[i] += 1
            if kind in FALLBACK_KINDS:
                fallbacks += 1
            if service and kind in ("guide", "section"):
                per_service[service][i] += 1
        hand = s.execute(select(models.Handoff.created_at, models.Handoff.taken_at, models.Handoff.outcome)
                         .where(models.Handoff.created_at >= since)).all()
        rates = Counter(h for (h,) in s.execute(select(models.Rating.helpful).where(models.Rating.at >= since)))
    waits = [int((taken - created).total_seconds()) for created, taken, _ in hand if taken]
    return Overview(
        days=day_list, per_service=dict(per_service), questions=sum(totals), fallbacks=fallbacks,
        handoffs=len(hand), handoffs_taken=len(waits),
        handoffs_timed_out=sum(1 for *_, outcome in hand if outcome == "timed_out"),
        avg_wait_seconds=(sum(waits) / len(waits)) if waits else None, max_wait_seconds=max(waits) if waits else None,
        ratings=rates[True] + rates[False], helpful=rates[True], per_day_total=totals,
    )
