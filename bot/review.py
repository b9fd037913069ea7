"""The learning loop: messages the bot handled badly, reviewed by staff, exported as
Rasa NLU training data.

- The actions record fallbacks (a clarifying question instead of a guide) and guides
  given with low confidence; the channels record guides rated 没帮助 (with the
  question that led to them). Ratings themselves are counted for the overview.
- The web chat accepts a rating only for a guide it actually sent to that
  conversation (``guide_sent`` / ``rate_sent``, table ``sent_guides``), once per
  guide, and the question comes from what the citizen really asked, not from the
  rating request, so forged ratings never reach the review list.
- Staff assign the right service, "out_of_scope", or "skip" (not useful).
- ``export_nlu`` writes the reviewed examples as Rasa NLU YAML (``version: "3.1"``),
  one block per intent, without duplicates and without any example that contains an
  ID-card or mobile number.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import yaml
from sqlalchemy import Column, DateTime, Integer, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError

from .assistant import intent_for
from .catalog import models
from .catalog.db import session_scope
from .privacy import mask_personal

SOURCES = ("fallback", "low_confidence", "unhelpful")
SPECIAL_LABELS = ("out_of_scope", "skip")
LOW_CONFIDENCE = 0.6
RATING_WINDOW = timedelta(hours=24)  # a guide can be rated this long after it was sent
MAX_QUESTION = 1000


class SentGuide(models.Base):
    """A guide the web chat sent to a conversation: what may be rated there (migration 0011).
    The sender is stored hashed; rows go after two days (``purge_sent``)."""

    __tablename__ = "sent_guides"
    __table_args__ = (UniqueConstraint("sender_hash", "service", name="uq_sent_guides_sender_service"),)

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    sender_hash = Column(String(64), nullable=False)
    service = Column(String(64), nullable=False)
    question = Column(String(MAX_QUESTION), nullable=True)  # what the citizen typed before the guide
    rated_at = Column(DateTime, nullable=True)


def sender_hash(sender: str) -> str:
    return hashlib.sha256(sender.encode("utf-8", "replace")).hexdigest()[:64]


@dataclass(frozen=True)
class Item:
    id: int
    at: datetime
    source: str
    channel: Optional[str]
    text: str  # masked
    intent: Optional[str]
    confidence: Optional[float]
    service: Optional[str]
    label: Optional[str]


class ReviewError(ValueError):
    pass


class ReviewDesk:
    def __init__(self, db_url: str, now: Callable[[], datetime] = datetime.utcnow):
        self.db_url = db_url
        self.now = now

    def record(self, source: str, text: str, channel: Optional[str] = None, intent: Optional[str] = None,
               confidence: Optional[float] = None, service: Optional[str] = None) -> bool:
        text = (text or "").strip()
        if source not in SOURCES or not text or text.startswith("/"):
            return False
        with session_scope(self.db_url) as s:
            s.add(models.ReviewItem(at=self.now(), source=source, channel=channel, text=text[:1000], intent=intent,
                                    confidence=confidence, service=service))
        return True

    def rate(self, channel: str, service: str, helpful: bool, question: Optional[str] = None) -> None:
        with session_scope(self.db_url) as s:
            s.add(models.Rating(at=self.now(), channel=channel, service=service, helpful=helpful))
        if not helpful and question:
            self.record("unhelpful", question, channel=channel, service=service)

    def guide_sent(self, sender: str, service: str, question: Optional[str] = None) -> None:
        """Remember that ``sender`` got the guide of ``service`` (so it may be rated once)."""
        key, question = sender_hash(sender), ((question or "").strip()[:MAX_QUESTION] or None)
        for _ in range(2):
            try:
                with session_scope(self.db_url) as s:
                    row = s.execute(select(SentGuide).where(SentGuide.sender_hash == key,
                                                            SentGuide.service == service[:64])).scalar_one_or_none()
                    if row is None:
                        s.add(SentGuide(at=self.now(), sender_hash=key, service=service[:64], question=question))
                    else:  # sent again: a later rating is about this question (still only one rating)
                        row.at, row.question = self.now(), question
                return
            except IntegrityError:  # the same guide recorded at the same moment by another request
                continue

    def rate_sent(self, channel: str, sender: str, service: str, helpful: bool) -> str:
        """Rate a guide sent to ``sender``: "ok", "not_sent" (never sent there, or too long ago) or
        "already_rated". One conditional UPDATE: two requests at once cannot both rate."""
        key = sender_hash(sender)
        with session_scope(self.db_url) as s:
            row = s.execute(select(SentGuide).where(SentGuide.sender_hash == key,
                                                    SentGuide.service == service[:64])).scalar_one_or_none()
            if row is None or row.at < self.now() - RATING_WINDOW:
                return "not_sent"
            res = s.execute(update(SentGuide).where(SentGuide.id == row.id, SentGuide.rated_at.is_(None))
                            .values(rated_at=self.now()).execution_options(synchronize_session=False))
            if res.rowcount != 1:
                return "already_rated"
            question = row.question
            s.add(models.Rating(at=self.now(), channel=channel, service=row.service, helpful=helpful))
        if not helpful and question:
            self.record("unhelpful", question, channel=channel, service=service)
        return "ok"

    def purge_sent(self, older_than: timedelta = timedelta(days=2)) -> int:
        """Forget old sent guides (the web app's maintenance loop runs this); returns how many."""
        with session_scope(self.db_url) as s:
            res = s.execute(delete(SentGuide).where(SentGuide.at < self.now() - older_than))
            return res.rowcount or 0

    def pending(self, limit: int = 100) -> List[Item]:
        with session_scope(self.db_url) as s:
            rows = s.execute(select(models.ReviewItem).where(models.ReviewItem.label.is_(None))
                             .order_by(models.ReviewItem.at.desc(), models.ReviewItem.id.desc())
                             .limit(limit)).scalars().all()
            return [Item(r.id, r.at, r.source, r.channel, mask_personal(r.text), r.intent, r.confidence, r.service,
                         r.label) for r in rows]

    def assign(self, item_id: int, label: str, staff_id: int, known_services: Iterable[str]) -> None:
        if label not in SPECIAL_LABELS and label not in set(known_services):
            raise ReviewError(f"unknown label {label!r}")
        with session_scope(self.db_url) as s:
            row = s.get(models.ReviewItem, item_id)
            if row is None:
                raise ReviewError("unknown item")
            row.label, row.reviewed_by, row.reviewed_at = label, staff_id, self.now()

    def reviewed(self) -> List[Tuple[str, str]]:
        """(label, original text) of every reviewed item, oldest first."""
        with session_scope(self.db_url) as s:
            rows = s.execute(select(models.ReviewItem.label, models.ReviewItem.text)
                             .where(models.ReviewItem.label.is_not(None))
                             .order_by(models.ReviewItem.id)).all()
            return [(label, text) for label, text in rows]


def export_nlu(pairs: Iterable[Tuple[str, str]]) -> Tuple[str, int, int]:
    """Rasa NLU YAML from (label, text) pairs; returns (yaml, examples written, skipped for personal data)."""
    by_intent: Dict[str, List[str]] = {}
    skipped = 0
    for label, text in pairs:
        if label == "skip":
            continue
        text = " ".join((text or "").split())
        if not text:
            continue
        if mask_personal(text) != text:
            skipped += 1
            continue
        intent = "out_of_scope" if label == "out_of_scope" else intent_for(label)
        examples = by_intent.setdefault(intent, [])
        if text not in examples:
            examples.append(text)
    nlu = [{"intent": intent, "examples": "".join(f"- {t}\n" for t in examples)}
           for intent, examples in sorted(by_intent.items())]
    header = ("# Reviewed by hotline staff in the console (python -m bot export-nlu).\n"
              "# Merge into data/nlu/ after a look; retrain with `make train`.\n")
    body = yaml.dump({"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False,
                     default_style=None, width=1000, Dumper=_LiteralDumper)
    return header + body, sum(len(v) for v in by_intent.values()), skipped


class _LiteralDumper(yaml.SafeDumper):
    pass


def _str(dumper, value):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_LiteralDumper.add_representer(str, _str)
