"""Read side of the catalogue: guides with regional overrides, offices, topics.

Every public method opens its own short session (one unit of work). The
region index is cached per content digest, so a reload of the catalogue is
picked up without restarting the process.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from sqlalchemy import func, select

from ..faq import FaqIndex, index_from_json
from ..keywords import normal_keyword, occurs
from ..normalize import normalize
from ..regions import RegionIndex, RegionRef
from . import layers, models
from .db import session_scope
from .schema import ENTRY_ID


@dataclass(frozen=True)
class ServiceInfo:
    code: str
    name: str
    domain: str
    keywords: Sequence[str]
    needs_region: bool


@dataclass(frozen=True)
class OfficeInfo:
    code: str
    name: str
    kind: str
    address: str
    hours: str
    phone: Optional[str]
    booking: Optional[str]
    sample: bool
    region_name: str
    region_code: Optional[str] = None


@dataclass(frozen=True)
class AmountInfo:
    label: str
    min_age: Optional[int]
    max_age: Optional[int]
    monthly: Optional[float]
    amount_text: Optional[str]

    def matches(self, age: Optional[int]) -> bool:
        if age is None or (self.min_age is None and self.max_age is None):
            return False
        return (self.min_age is None or age >= self.min_age) and (
            self.max_age is None or age <= self.max_age
        )


@dataclass(frozen=True)
class SourceInfo:
    scope: str  # "全国" or a region name
    source: str
    last_checked: str
    sample: bool


def _unique_legal_basis(items) -> List[dict]:
    """Each legal basis once: a later layer repeating a title and article adds nothing."""
    out: List[dict] = []
    seen = set()
    for lb in items:
        key = (lb.get("title"), lb.get("article"))
        if key in seen:
            continue
        seen.add(key)
        out.append(dict(lb))
    return out


@dataclass
class Guide:
    service: ServiceInfo
    summary: str
    conditions: List[str]
    materials: List[str]
    steps: List[str]
    fees: str
    time_limit: str
    notes: List[str]
    legal_basis: List[dict]
    apply_online: Optional[str]
    region: Optional[RegionRef] = None
    region_full_name: Optional[str] = None
    local_scope: Optional[str] = None  # name of the most specific region with local rules
    offices: List[OfficeInfo] = field(default_factory=list)
    amounts: List[AmountInfo] = field(default_factory=list)
    amounts_scope: Optional[str] = None
    amounts_sample: bool = False
    automatic: bool = False
    age: Optional[int] = None
    matched_amount: Optional[AmountInfo] = None
    below_min_age: Optional[int] = None
    sources: List[SourceInfo] = field(default_factory=list)
    hotline: str = "12345"
    office_code: Optional[str] = None  # the office the citizen came from (QR code), listed first

    @property
    def has_sample(self) -> bool:
        return any(s.sample for s in self.sources) or any(o.sample for o in self.offices)

    @property
    def has_local_data(self) -> bool:
        return bool(self.local_scope or self.offices)


@dataclass(frozen=True)
class EntryPointInfo:
    id: str
    service: str
    region: Optional[str]
    office: Optional[str]
    label: str


@dataclass(frozen=True)
class OutOfScopeInfo:
    topic: str
    agency: str
    hotline: Optional[str]
    hint: Optional[str]


class CatalogUnavailable(RuntimeError):
    """The catalogue database cannot be reached or is not loaded."""


class Catalog:
    def __init__(self, db_url: str, default_hotline: str = "12345", recheck_after: float = 0.0):
        """``recheck_after``: seconds during which the content digest read last is trusted
        (0: read before every lookup, so a reload is seen at once; the action server uses 1 s)."""
        self.db_url = db_url
        self.default_hotline = default_hotline
        self.recheck_after = recheck_after
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._index: Optional[RegionIndex] = None
        self._digest: Optional[str] = None
        self._services: Dict[str, ServiceInfo] = {}
        self._faq: Optional[FaqIndex] = None
        self._faq_digest: Optional[str] = None
        self._built: Dict[str, tuple] = {}  # key -> (content digest, value)

    # -- cached reference data -------------------------------------------------
    def _refresh(self) -> None:
        now = time.monotonic()
        if self._index is not None and now - self._checked_at < self.recheck_after:
            return
        with session_scope(self.db_url) as s:
            digest = s.execute(
                select(models.CatalogMeta.value).where(models.CatalogMeta.key == "content_digest")
            ).scalar_one_or_none()
            if digest is None:
                raise CatalogUnavailable("the catalogue is empty: run `python -m bot catalog load`")
            if digest == self._digest and self._index is not None:
                self._checked_at = now
                return
            regions = s.execute(select(models.Region)).scalars().all()
            refs = [
                RegionRef(r.code, r.name, r.short_name, r.level, r.parent_code, r.hotline)
                for r in regions
            ]
            aliases = {r.code: list(r.aliases or []) for r in regions}
            ambiguous = {r.code for r in regions if r.ambiguous_short_name}
            services = s.execute(select(models.Service).order_by(models.Service.position)).scalars().all()
            infos = {
                sv.code: ServiceInfo(sv.code, sv.name, sv.domain, tuple(sv.keywords or ()), sv.needs_region)
                for sv in services
            }
        with self._lock:
            self._index = RegionIndex(refs, aliases, ambiguous)
            self._services = infos
            self._digest = digest
            self._checked_at = now

    def region_index(self) -> RegionIndex:
        self._refresh()
        assert self._index is not None
        return self._index

    def services(self) -> List[ServiceInfo]:
        self._refresh()
        return list(self._services.values())

    def service(self, code: str) -> Optional[ServiceInfo]:
        self._refresh()
        return self._services.get(code)

    def faq(self) -> FaqIndex:
        """The FAQ entries stored with the catalogue (bot/content/faq), indexed for selection."""
        self._refresh()
        digest = self._digest
        if self._faq is not None and self._faq_digest == digest:
            return self._faq
        with session_scope(self.db_url) as s:
            raw = s.execute(
                select(models.CatalogMeta.value).where(models.CatalogMeta.key == "faq")
            ).scalar_one_or_none()
        terms = {code: (info.name, *info.keywords) for code, info in self._services.items()}
        index = index_from_json(json.loads(raw) if raw else [], terms)
        with self._lock:
            self._faq, self._faq_digest = index, digest
        return index

    # -- rules and featured lists stored with the catalogue (rules/*.yml, `featured`, `menu`) ----
    def _meta(self, key: str):
        with session_scope(self.db_url) as s:
            raw = s.execute(select(models.CatalogMeta.value).where(models.CatalogMeta.key == key)).scalar_one_or_none()
        return json.loads(raw) if raw else None

    def _cached(self, key: str, build):
        """A value built from the catalogue, rebuilt when the content digest changes."""
        self._refresh()
        digest = self._digest
        hit = self._built.get(key)
        if hit is not None and hit[0] == digest:
            return hit[1]
        value = build()
        with self._lock:
            self._built[key] = (digest, value)
        return value

    def _facts(self):
        from .rules_schema import CatalogueFacts

        index = self.region_index()
        return CatalogueFacts(names={c: r.name for c, r in index.by_code.items()}, parents=dict(index.parents))

    def _rules(self, name: str, rules_from_mapping):
        """Rules file ``rules/<name>.yml`` as loaded with the catalogue, built once per load."""
        key = f"rules.{name}"

        def build():
            data = self._meta(key)
            if data is None:
                raise CatalogUnavailable(f"no {name} rules: run `python -m bot catalog load`")
            return rules_from_mapping(data, f"rules/{name}.yml", self._facts())
        return self._cached(key, build)

    def eligibility_rules(self):
        """The eligibility rules (rules/eligibility.yml) loaded with the catalogue."""
        from ..eligibility import rules_from_mapping

        return self._rules("eligibility", rules_from_mapping)

    def funeral_rules(self):
        """The funeral checklist rules (rules/funeral.yml) loaded with the catalogue."""
        from ..funeral_checklist import rules_from_mapping

        return self._rules("funeral", rules_from_mapping)

    def featured_cities(self) -> List[RegionRef]:
        """The cities offered as buttons when the bot asks for the place (``featured`` in regions/*.yml)."""
        def build():
            index = self.region_index()
            codes = (self._meta("featured") or {}).get("cities") or []
            return [index.by_code[c] for c in codes if c in index.by_code]
        return self._cached("featured.cities", build)

    def menu_services(self) -> List[ServiceInfo]:
        """The services shown as menu buttons (``menu`` in services/*.yml), in their order."""
        def build():
            codes = (self._meta("featured") or {}).get("services") or []
            return [self._services[c] for c in codes if c in self._services]
        return self._cached("featured.services", build)

    def find_region(self, text: str) -> Optional[RegionRef]:
        return self.region_index().find(text)

    def region(self, code: Optional[str]) -> Optional[RegionRef]:
        if not code:
            return None
        return self.region_index().by_code.get(code)

    def hotline_for(self, region_code: Optional[str]) -> str:
        if region_code:
            for r in self.region_index().chain(region_code):
                if r.hotline:
                    return r.hotline
        return self.default_hotline

    def has_local_data(self, region_code: str) -> bool:
        """True if the region or one of its ancestors has offices or local rules."""
        chain = [r.code for r in self.region_index().chain(region_code)]
        if not chain:
            return False
        with session_scope(self.db_url) as s:
            for model in (models.Office, models.ServiceOverride):
                n = s.execute(
                    select(func.count()).select_from(model).where(model.region_code.in_(chain))
                ).scalar_one()
                if n:
                    return True
        return False

    # -- guides ------------------------------------------------------------------
    def guide(self, service_code: str, region_code: Optional[str] = None, age: Optional[int] = None,
              office_code: Optional[str] = None) -> Guide:
        index = self.region_index()
        info = self._services.get(service_code)
        if info is None:
            raise KeyError(service_code)
        chain = index.chain(region_code) if region_code else []
        chain_codes = [r.code for r in chain]
        with session_scope(self.db_url) as s:
            svc = s.get(models.Service, service_code)
            layer_list = [(layers.NATIONAL, dict(svc.fields))]
            sources = [SourceInfo("全国", svc.source, svc.last_checked.isoformat(), svc.sample)]
            if chain_codes:
                rows = s.execute(
                    select(models.ServiceOverride).where(
                        models.ServiceOverride.service_code == service_code,
                        models.ServiceOverride.region_code.in_(chain_codes),
                    )
                ).scalars().all()
                by_region = {o.region_code: o for o in rows}
                for code, ov in layers.along(chain_codes, by_region):
                    if ov is None:
                        continue
                    layer = dict(ov.fields or {}, automatic=ov.automatic, sample=ov.sample)
                    if ov.amounts:
                        layer["amounts"] = [AmountInfo(a.label, a.min_age, a.max_age, a.monthly, a.amount_text)
                                            for a in ov.amounts]
                    layer_list.append((code, layer))
                    sources.append(SourceInfo(index.by_code[code].name, ov.source, ov.last_checked.isoformat(),
                                              ov.sample))
            # national -> province -> city -> district; lists of notes and legal bases add up
            merged = layers.merge(layer_list, append=("notes", "legal_basis"))
            fields = merged.fields
            local_scope = index.by_code[merged.region].name if merged.region != layers.NATIONAL else None
            amounts: List[AmountInfo] = fields.get("amounts") or []
            amounts_region = merged.origin.get("amounts")
            amounts_scope = index.by_code[amounts_region].name if amounts_region else None
            amounts_sample = bool(amounts_region and dict(layer_list)[amounts_region].get("sample"))
            automatic = bool(fields.get("automatic"))  # the most specific region decides
            offices = self._offices(s, service_code, chain_codes) if chain_codes else []
            if office_code:
                offices, office_code = self._with_office_first(s, offices, service_code, office_code)

        notes = list(fields.get("notes") or [])
        if not chain_codes:  # examples from named places belong to the national text only
            notes += list(fields.get("national_notes") or [])
        matched = next((a for a in amounts if a.matches(age)), None)
        min_ages = [a.min_age for a in amounts if a.min_age is not None]
        below = min(min_ages) if (age is not None and matched is None and min_ages and age < min(min_ages)) else None
        return Guide(
            service=info,
            summary=fields.get("summary", ""),
            conditions=list(fields.get("conditions") or []),
            materials=list(fields.get("materials") or []),
            steps=list(fields.get("steps") or []),
            fees=fields.get("fees", ""),
            time_limit=fields.get("time_limit", ""),
            notes=list(dict.fromkeys(notes)),
            legal_basis=_unique_legal_basis(fields.get("legal_basis") or []),
            apply_online=fields.get("apply_online"),
            region=chain[0] if chain else None,
            region_full_name=index.full_name(region_code) if region_code else None,
            local_scope=local_scope,
            offices=offices,
            amounts=amounts,
            amounts_scope=amounts_scope,
            amounts_sample=amounts_sample,
            automatic=automatic,
            age=age,
            matched_amount=matched,
            below_min_age=below,
            sources=sources,
            hotline=self.hotline_for(region_code),
            office_code=office_code,
        )

    def _with_office_first(self, s, offices: List[OfficeInfo], service_code: str,
                           office_code: str):
        """Put the given office first (fetching it if the region chain did not list it).

        Returns the offices and the office code, or None if the office does not
        exist or does not offer the service.
        """
        if any(o.code == office_code for o in offices):
            chosen = next(o for o in offices if o.code == office_code)
            return [chosen] + [o for o in offices if o.code != office_code], office_code
        row = s.execute(
            select(models.Office)
            .join(models.OfficeService, models.OfficeService.office_code == models.Office.code)
            .where(models.Office.code == office_code, models.OfficeService.service_code == service_code)
        ).scalar_one_or_none()
        if row is None:
            return offices, None
        index = self._index
        chosen = OfficeInfo(row.code, row.name, row.kind, row.address, row.hours, row.phone, row.booking,
                            row.sample, index.full_name(row.region_code) if index else row.region_code)
        return [chosen] + offices, office_code

    def _offices(self, s, service_code: str, chain_codes: List[str]) -> List[OfficeInfo]:
        """Offices for the service in the most specific region of the chain that has any.

        A district asks first for its own offices, then its city's, then the province's.
        """
        index = self._index
        rows = s.execute(
            select(models.Office)
            .join(models.OfficeService, models.OfficeService.office_code == models.Office.code)
            .where(
                models.OfficeService.service_code == service_code,
                models.Office.region_code.in_(chain_codes),
            )
            .order_by(models.Office.position)
        ).scalars().all()
        for code in chain_codes:
            here = [o for o in rows if o.region_code == code]
            if here:
                return [
                    OfficeInfo(
                        o.code, o.name, o.kind, o.address, o.hours, o.phone, o.booking, o.sample,
                        index.full_name(o.region_code) if index else o.region_code,
                    )
                    for o in here
                ]
        return []

    # -- QR-code entry points ----------------------------------------------------
    def entry_points(self) -> List[EntryPointInfo]:
        with session_scope(self.db_url) as s:
            rows = s.execute(select(models.EntryPoint).order_by(models.EntryPoint.position)).scalars().all()
            return [EntryPointInfo(r.id, r.service_code, r.region_code, r.office_code, r.label) for r in rows]

    def entry_point(self, entry_id: str) -> Optional[EntryPointInfo]:
        """The entry point with this id, or None (also for ids that are not valid payloads)."""
        if not isinstance(entry_id, str) or not ENTRY_ID.match(entry_id):
            return None
        with session_scope(self.db_url) as s:
            r = s.get(models.EntryPoint, entry_id)
            if r is None:
                return None
            return EntryPointInfo(r.id, r.service_code, r.region_code, r.office_code, r.label)

    def office(self, office_code: Optional[str]) -> Optional[OfficeInfo]:
        if not office_code:
            return None
        index = self.region_index()
        with session_scope(self.db_url) as s:
            o = s.get(models.Office, office_code)
            if o is None:
                return None
            return OfficeInfo(o.code, o.name, o.kind, o.address, o.hours, o.phone, o.booking, o.sample,
                              index.full_name(o.region_code), o.region_code)

    # -- keyword helpers ---------------------------------------------------------
    def out_of_scope_topic(self, text: str, loose: bool = False) -> Optional[OutOfScopeInfo]:
        """The other agency's topic a message names. ``loose``: also a keyword's words in
        another order (``bot.keywords``), for a message the NLU found out of scope; the
        clarifying question, asked of messages that may well be ours, matches exactly."""
        text = normalize(text)
        with session_scope(self.db_url) as s:
            topics = s.execute(select(models.OutOfScopeTopic).order_by(models.OutOfScopeTopic.id)).scalars().all()
            best = None
            best_len = 0
            for t in topics:
                for kw in t.keywords:
                    kw = normal_keyword(kw)
                    if not kw:
                        continue
                    # the longest keyword wins; at equal length one as written beats one reordered
                    exact = kw in text
                    score = len(kw) + (0.5 if exact else 0.0)
                    if score > best_len and (exact or (loose and occurs(kw, text))):
                        best, best_len = t, score
            if best is None:
                return None
            return OutOfScopeInfo(best.topic, best.agency, best.hotline, best.hint)

    def services_by_keyword(self, text: str, limit: int = 3) -> List[ServiceInfo]:
        """Services whose names or keywords occur in the text, best first."""
        text = normalize(text)
        scored = []
        for info in self.services():
            score = sum(len(k) for k in (info.name, *info.keywords) if k and k in text)
            if score:
                scored.append((score, info))
        scored.sort(key=lambda p: -p[0])
        return [i for _, i in scored[:limit]]
