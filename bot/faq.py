"""Frequently asked questions: question-level answers, and choosing the one a message asks.

Content: ``bot/content/faq/<domain>.yml``, one list ``faq:`` per file. Each entry
answers one question of one service in one to three sentences, fact first, with
its legal basis; ``regions`` overrides the answer where it is local, and
``local`` names catalogue data (offices, amounts, the regional summary, the
online channel) shown once the city is known, so that local facts are stored
once, in ``regions/*.yml``. ``bot.catalog.loader`` validates the files with the
rest of the content (errors name file and field) and stores the entries with
the catalogue; :meth:`bot.catalog.queries.Catalog.faq` gives the index.

Choosing (:class:`FaqIndex`): among the entries of the routed service, the one
whose phrasings are closest to the message — cosine similarity of character
1–3-gram TF-IDF vectors (scikit-learn), plus a bonus for the entry's keywords
found in the message — or none below a threshold. Figures: docs/faq.md.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from pydantic import Field, StrictStr, validator

from .catalog.schema import SERVICE_CODE, LegalBasis, Strict
from .catalog.validate import References, unique
from .normalize import compact

FAQ_ID = re.compile(r"^[a-z]+\.[a-z_]+\.[a-z0-9_]+$")
LOCAL_KINDS = ("offices", "amounts", "summary", "apply_online")
MAX_ANSWER = 160  # characters: a short answer, read on a phone
_SENTENCE_END = re.compile(r"[。！？!?]")

# Tuned by leave-one-out over the FAQ phrasings (scripts in docs/faq.md), not on the held-out set.
THRESHOLD = 0.25
KEYWORD_WEIGHT = 0.15  # per keyword character found, up to KEYWORD_CAP
KEYWORD_CAP = 0.45


# -- schema ----------------------------------------------------------------------------

class RegionalAnswer(Strict):
    """The answer where it differs locally (a province, city or district code)."""

    answer: str = Field(..., min_length=4, max_length=MAX_ANSWER)
    legal_basis: List[LegalBasis] = Field(default_factory=list)
    source: str = Field(..., min_length=4)
    sample: bool = Field(False, description="not verified: the reply says to confirm locally")
    last_checked: dt.date = dt.date(2026, 12, 1)


class FaqEntry(Strict):
    id: str
    service: str
    questions: List[StrictStr] = Field(..., min_items=2, max_items=5)
    keywords: List[StrictStr] = Field(default_factory=list)
    answer: str = Field(..., min_length=4, max_length=MAX_ANSWER)
    legal_basis: List[LegalBasis] = Field(..., min_items=1)
    needs_region: bool = Field(False, description="the full answer is local: offer the city after it")
    local: List[str] = Field(default_factory=list, description="catalogue data to add for a known city")
    regions: Dict[str, RegionalAnswer] = Field(default_factory=dict)
    sample: bool = False

    @validator("id")
    def _id(cls, v: str) -> str:
        if not FAQ_ID.match(v):
            raise ValueError("must look like 'domain.service.topic' in lower case")
        return v

    @validator("service")
    def _service(cls, v: str, values) -> str:
        if not SERVICE_CODE.match(v):
            raise ValueError("must look like 'domain.name' in lower case")
        if "id" in values and not values["id"].startswith(v + "."):
            raise ValueError(f"the id {values['id']!r} must start with the service code")
        return v

    @validator("answer")
    def _short(cls, v: str) -> str:
        sentences = [s for s in _SENTENCE_END.split(v) if s.strip()]
        if len(sentences) > 3:
            raise ValueError(f"{len(sentences)} sentences: give one to three")
        return v

    @validator("local", each_item=True)
    def _local(cls, v: str) -> str:
        if v not in LOCAL_KINDS:
            raise ValueError(f"must be one of {', '.join(LOCAL_KINDS)}")
        return v


class FaqFile(Strict):
    faq: List[FaqEntry] = Field(..., min_items=1)


def check_entries(shown: str, parsed: FaqFile, refs: References, seen: Dict[str, str],
                  problems: List[str]) -> List[FaqEntry]:
    """Cross-checks the schema cannot do, as for every content file (``bot.catalog.validate``):
    unique ids, known service and region codes."""
    good: List[FaqEntry] = []
    for i, entry in enumerate(parsed.faq):
        where = f"{shown}: faq.{i}"
        before = len(problems)
        unique(f"{where}.id", "FAQ id", entry.id, seen, shown, problems)
        refs.check(f"{where}.service", "service", entry.service, problems)
        for code in entry.regions:
            refs.check(f"{where}.regions.{code}", "region", code, problems)
        if len(problems) == before:
            good.append(entry)
    return good


# -- runtime ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What the reply says for one entry in one place."""

    entry_id: str
    text: str
    legal_basis: List[dict]
    local: Tuple[str, ...]
    needs_region: bool
    sample: bool = False
    regional: Optional[str] = None  # the region code whose answer was used
    source: Optional[str] = None


@dataclass
class Faq:
    id: str
    service: str
    questions: List[str]
    keywords: List[str]
    answer: str
    legal_basis: List[dict]
    needs_region: bool = False
    local: List[str] = field(default_factory=list)
    regions: Dict[str, dict] = field(default_factory=dict)
    sample: bool = False

    @classmethod
    def from_entry(cls, e: FaqEntry) -> Faq:
        return cls(**_as_json(e))

    def answer_for(self, chain: Sequence[str] = ()) -> Answer:
        """The answer for a region chain (most specific first): the first regional answer, else national."""
        for code in chain:
            r = self.regions.get(code)
            if r:
                return Answer(self.id, r["answer"], list(r.get("legal_basis") or []) or self.legal_basis,
                              tuple(self.local), False, bool(r.get("sample")), code, r.get("source"))
        return Answer(self.id, self.answer, self.legal_basis, tuple(self.local), self.needs_region, self.sample)


def _as_json(e: FaqEntry) -> dict:
    data = e.dict(exclude_none=True)
    data["legal_basis"] = [lb.dict(exclude_none=True) for lb in e.legal_basis]
    data["regions"] = {
        code: {**r.dict(exclude_none=True, exclude={"legal_basis", "last_checked"}),
               "legal_basis": [lb.dict(exclude_none=True) for lb in r.legal_basis],
               "last_checked": r.last_checked.isoformat()}
        for code, r in e.regions.items()
    }
    return data


def to_json(entries: Sequence[FaqEntry]) -> List[dict]:
    """What the catalogue stores (``catalog_meta`` row ``faq``)."""
    return [_as_json(e) for e in entries]


@dataclass(frozen=True)
class Match:
    faq: Faq
    score: float


class FaqIndex:
    """Character n-gram TF-IDF over all phrasings; candidates limited to the routed service."""

    def __init__(self, entries: Sequence[Faq], threshold: float = THRESHOLD,
                 service_terms: Optional[Dict[str, Sequence[str]]] = None):
        """``service_terms``: per service, its name and catalogue keywords. They say which
        service is meant, not which question, and are removed before comparing."""
        self.entries = list(entries)
        self._terms = {code: sorted({compact(t) for t in terms if t}, key=len, reverse=True)
                       for code, terms in (service_terms or {}).items()}
        self.by_id = {e.id: e for e in self.entries}
        self.threshold = threshold
        # per service: (vectorizer, matrix, [(entry index, row in the list of all phrasings)])
        self._services: Dict[str, tuple] = {}
        self._rows: List[Tuple[int, str]] = []  # (entry index, phrasing), all services
        by_service: Dict[str, List[int]] = {}
        for i, e in enumerate(self.entries):
            by_service.setdefault(e.service, [])
            for q in e.questions:
                by_service[e.service].append(len(self._rows))
                self._rows.append((i, self._strip(compact(q), e.service)))
        for service, rows in by_service.items():
            self._services[service] = _fit([self._rows[r][1] for r in rows]) + (rows,)

    def _strip(self, text: str, service: str) -> str:
        for term in self._terms.get(service, ()):
            text = text.replace(term, "")
        return text

    def for_service(self, service: str) -> List[Faq]:
        return [e for e in self.entries if e.service == service]

    def scores(self, text: str, service: str, exclude_row: Optional[int] = None) -> List[Match]:
        """Every entry of the service with its score, best first."""
        full = compact(text)
        q = self._strip(full, service)
        if not q or service not in self._services:
            return []
        vec, matrix, rows = self._services[service]
        sims = (matrix @ vec.transform([q]).T).toarray().ravel()
        best: Dict[int, float] = {}
        for k, row in enumerate(rows):
            if row == exclude_row:
                continue
            i = self._rows[row][0]
            best[i] = max(best.get(i, 0.0), float(sims[k]))
        out = []
        for i, sim in best.items():
            e = self.entries[i]
            hits = sum(len(k) for k in e.keywords if k and compact(k) in full)
            out.append(Match(e, sim + min(KEYWORD_CAP, KEYWORD_WEIGHT * hits)))
        out.sort(key=lambda m: -m.score)
        return out

    def select(self, text: str, service: str) -> Optional[Match]:
        """The entry that answers the message, or None when none is close enough."""
        ranked = self.scores(text, service)
        if ranked and ranked[0].score >= self.threshold:
            return ranked[0]
        return None


def _fit(docs: List[str]):
    """Character 1–3-grams, idf over one service's phrasings: what all of them share
    (the service's own name) weighs little, what tells them apart weighs much."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    return vec, vec.fit_transform(docs)


def index_from_json(rows: Sequence[dict], service_terms: Optional[Dict[str, Sequence[str]]] = None) -> FaqIndex:
    return FaqIndex([Faq(**r) for r in rows], service_terms=service_terms)
