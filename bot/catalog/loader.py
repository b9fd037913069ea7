"""Load the YAML content into the catalogue database.

``load_content`` reads and validates every file under the content directory —
``services/``, ``regions/``, ``faq/``, ``rules/`` (eligibility, funeral checklist),
``entry_points.yml``, ``out_of_scope.yml``, ``booking.yml`` and ``applications.yml`` —
in one style (pydantic models, ``bot.catalog.validate``), then cross-checks the
references between files (services, regions, offices, benefits, FAQ ids, entry
points) before anything is written; ``write_catalog`` replaces the catalogue
tables in one transaction, so a broken file never leaves a half-loaded database.
Every problem is one line ``file: field: message``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from sqlalchemy import delete

from . import models
from .db import session_scope
from .layers import chain
from .rules_schema import CatalogueFacts
from .schema import EntryPoint, EntryPointsFile, OutOfScopeFile, Region, RegionsFile, Service, ServicesFile
from .validate import References, parse, read_yaml, unique

ELIGIBILITY_FILE = "rules/eligibility.yml"
FUNERAL_FILE = "rules/funeral.yml"
BOOKING_FILE = "booking.yml"
APPLICATIONS_FILE = "applications.yml"


class ContentError(Exception):
    """Content that fails validation; ``problems`` are 'file: field: message' lines."""

    def __init__(self, problems: List[str]):
        self.problems = problems
        super().__init__("catalogue content is invalid:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class Content:
    services: List[Service] = field(default_factory=list)
    regions: List[Tuple[Region, Optional[str]]] = field(default_factory=list)  # (region, parent)
    out_of_scope: list = field(default_factory=list)
    entry_points: List[EntryPoint] = field(default_factory=list)
    faq: list = field(default_factory=list)  # bot.faq.FaqEntry, checked against services and regions
    eligibility: Optional[dict] = None  # rules/eligibility.yml with the catalogue's labels and bands filled in
    funeral: Optional[dict] = None  # rules/funeral.yml, likewise
    featured_cities: List[str] = field(default_factory=list)  # region codes, in their `featured` order
    menu_services: List[str] = field(default_factory=list)  # service codes, in their `menu` order
    files: List[str] = field(default_factory=list)  # every file validated
    digest: str = ""


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent.parent))
    except ValueError:
        return str(path)


def _walk(region: Region, parent: Optional[str], path: str) -> Iterable[Tuple[Region, Optional[str], str]]:
    yield region, parent, path
    for i, child in enumerate(region.children):
        yield from _walk(child, region.code, f"{path}.children.{i}")


def facts_of(regions: Iterable[Tuple[Region, Optional[str]]]) -> CatalogueFacts:
    """Region names, parent links and amounts: what the rules files take from ``regions/*.yml``."""
    facts = CatalogueFacts()
    for region, parent in regions:
        facts.names[region.code] = region.name
        facts.parents[region.code] = parent
        for ov in region.overrides:
            if ov.amounts:
                facts.amounts[(region.code, ov.service)] = [a.dict() for a in ov.amounts]
    return facts


def catalogue_facts(content_dir: Path) -> Optional[CatalogueFacts]:
    """The facts of ``content_dir/regions`` (None when there are none, e.g. a rules file on its own).

    Problems in the region files are left to ``load_content``.
    """
    files = sorted(Path(content_dir).glob("regions/*.yml"))
    if not files:
        return None
    regions: List[Tuple[Region, Optional[str]]] = []
    ignored: List[str] = []
    for path in files:
        parsed = parse(RegionsFile, read_yaml(path, str(path), ignored), str(path), ignored)
        for top in parsed.regions if parsed else []:
            regions += [(r, parent) for r, parent, _ in _walk(top, None, "")]
    return facts_of(regions)


def standalone_rules(path: Path) -> dict:
    """A rules file of the content directory as a file of its own: the labels and bands it
    takes from the catalogue written in (what the loader stores)."""
    from .rules_schema import with_catalogue

    data = read_yaml(Path(path), str(path), [])
    return with_catalogue(data, catalogue_facts(Path(path).parent.parent))


def _positions(items: Iterable[Tuple[str, Optional[int]]], name: str, files: Dict[str, str],
               problems: List[str]) -> List[str]:
    """Codes ordered by their position (``featured: 1``, ``menu: 2``); a position used twice is a problem."""
    placed = sorted((p for p in items if p[1] is not None), key=lambda p: p[1])
    for (a, pa), (b, pb) in zip(placed, placed[1:], strict=False):
        if pa == pb:
            problems.append(f"{files.get(b, '?')}: {b}.{name}: position {pb} is also {a}'s")
    return [code for code, _ in placed]


def load_content(content_dir: Path) -> Content:
    from .. import booking, eligibility, faq, funeral_checklist, status_lookup

    content_dir = Path(content_dir)
    problems: List[str] = []
    content = Content()
    digest = hashlib.sha256()
    files = sorted(content_dir.glob("services/*.yml")) + sorted(content_dir.glob("regions/*.yml"))
    for name in ("out_of_scope.yml", "entry_points.yml"):
        if (content_dir / name).exists():
            files.append(content_dir / name)
    files += sorted(content_dir.glob("faq/*.yml"))
    if not files:
        raise ContentError([f"{content_dir}: no content files found"])
    rest = [content_dir / n for n in (ELIGIBILITY_FILE, FUNERAL_FILE, BOOKING_FILE, APPLICATIONS_FILE)]
    raw: Dict[Path, Optional[dict]] = {}
    for path in files + [p for p in rest if p.exists()]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
        content.files.append(_display(path, content_dir))
        raw[path] = read_yaml(path, _display(path, content_dir), problems)

    services_seen: Dict[str, str] = {}
    regions_seen: Dict[str, str] = {}
    offices_seen: Dict[str, str] = {}
    office_info: Dict[str, Tuple[str, List[str]]] = {}  # office code -> (region code, services)
    parents: Dict[str, Optional[str]] = {}
    service_refs: List[Tuple[str, str]] = []  # (service code, "file: field")
    entry_files: List[Tuple[str, EntryPointsFile]] = []
    faq_files: list = []  # (shown, FaqFile)

    for path in files:
        data, shown = raw[path], _display(path, content_dir)
        if data is None:
            continue
        if path.parent.name == "services":
            parsed = parse(ServicesFile, data, shown, problems)
            for i, svc in enumerate(parsed.services if parsed else []):
                if unique(f"{shown}: services.{i}.code", "service code", svc.code, services_seen, shown, problems):
                    content.services.append(svc)
        elif path.parent.name == "regions":
            parsed = parse(RegionsFile, data, shown, problems)
            for i, top in enumerate(parsed.regions if parsed else []):
                for region, parent, rpath in _walk(top, None, f"regions.{i}"):
                    if not unique(f"{shown}: {rpath}.code", "region code", region.code, regions_seen, shown,
                                  problems):
                        continue
                    parents[region.code] = parent
                    content.regions.append((region, parent))
                    for j, ov in enumerate(region.overrides):
                        service_refs.append((ov.service, f"{shown}: {rpath}.overrides.{j}.service"))
                    for j, office in enumerate(region.offices):
                        unique(f"{shown}: {rpath}.offices.{j}.code", "office code", office.code, offices_seen,
                               shown, problems)
                        office_info[office.code] = (region.code, list(office.services))
                        service_refs += [(code, f"{shown}: {rpath}.offices.{j}.services.{k}")
                                         for k, code in enumerate(office.services)]
        elif path.parent.name == "faq":
            parsed = parse(faq.FaqFile, data, shown, problems)
            if parsed is not None:
                faq_files.append((shown, parsed))
        elif path.name == "entry_points.yml":
            parsed = parse(EntryPointsFile, data, shown, problems)
            if parsed is not None:
                entry_files.append((shown, parsed))
        else:
            parsed = parse(OutOfScopeFile, data, shown, problems)
            if parsed is not None:
                content.out_of_scope = parsed.topics

    refs = References(service=services_seen, region=regions_seen, office=offices_seen)
    for code, where in service_refs:
        refs.check(where, "service", code, problems)
    for shown, parsed in entry_files:
        content.entry_points = _check_entry_points(shown, parsed.entry_points, refs, parents, office_info, problems)
    faq_seen: Dict[str, str] = {}
    for shown, parsed in faq_files:
        content.faq += faq.check_entries(shown, parsed, refs, faq_seen, problems)

    facts = facts_of(content.regions)
    shown_of = {p: _display(p, content_dir) for p in rest}
    elig_path, funeral_path, booking_path, apps_path = rest
    if raw.get(elig_path) is not None:
        shown = shown_of[elig_path]
        rules = eligibility.build_rules(raw[elig_path], shown, problems, facts)
        if rules is not None:
            for i, b in enumerate(rules.benefits):
                refs.check(f"{shown}: benefits.{i}.service", "service", b.service, problems)
            content.eligibility = _jsonable(_filled(raw[elig_path], facts))
    if raw.get(funeral_path) is not None:
        if funeral_checklist.build_rules(raw[funeral_path], shown_of[funeral_path], problems, facts) is not None:
            content.funeral = _jsonable(_filled(raw[funeral_path], facts))
    if raw.get(booking_path) is not None:
        booking.check_schedules(raw[booking_path], shown_of[booking_path], problems, refs)
    if raw.get(apps_path) is not None:
        status_lookup.check_samples(raw[apps_path], shown_of[apps_path], problems, refs)

    content.featured_cities = _positions(((r.code, r.featured) for r, _ in content.regions), "featured",
                                         regions_seen, problems)
    content.menu_services = _positions(((s.code, s.menu) for s in content.services), "menu", services_seen,
                                       problems)
    if not content.services:
        problems.append(f"{content_dir / 'services'}: no services defined")
    if problems:
        raise ContentError(problems)
    content.digest = digest.hexdigest()[:16]
    return content


def _filled(data: dict, facts: CatalogueFacts) -> dict:
    from .rules_schema import with_catalogue

    return with_catalogue(data, facts)


def _jsonable(data: dict) -> dict:
    """Dates as ISO text (the rules' schema reads them back)."""
    def default(value):
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    return json.loads(json.dumps(data, ensure_ascii=False, default=default))


def _check_entry_points(shown: str, entries: List[EntryPoint], refs: References,
                        parents: Dict[str, Optional[str]], offices: Dict[str, Tuple[str, List[str]]],
                        problems: List[str]) -> List[EntryPoint]:
    """Entry points must name a known service, region and office that fit together.

    The office must offer the service and lie in the entry's region or one of its
    ancestors; without a region, the entry takes the office's region.
    """
    seen: Dict[str, str] = {}
    good: List[EntryPoint] = []
    for i, ep in enumerate(entries):
        where = f"{shown}: entry_points.{i}"
        before = len(problems)
        unique(f"{where}.id", "entry point", ep.id, seen, f"entry_points.{i}", problems)
        refs.check(f"{where}.service", "service", ep.service, problems)
        refs.check(f"{where}.region", "region", ep.region, problems)
        if ep.office is not None and refs.check(f"{where}.office", "office", ep.office, problems):
            office_region, office_services = offices[ep.office]
            if ep.service not in office_services:
                problems.append(f"{where}.office: office {ep.office!r} does not offer {ep.service!r}")
            if ep.region is None:
                ep = ep.copy(update={"region": office_region})
            elif ep.region in parents and office_region not in chain(ep.region, parents):
                problems.append(
                    f"{where}.office: office {ep.office!r} is in {office_region!r}, "
                    f"outside region {ep.region!r}"
                )
        if len(problems) == before:
            good.append(ep)
    return good


_TEXT_FIELDS = ("summary", "conditions", "materials", "steps", "fees", "time_limit", "notes", "national_notes",
                "apply_online")


def _service_fields(svc: Service) -> dict:
    data = {name: getattr(svc, name) for name in _TEXT_FIELDS}
    data["legal_basis"] = [lb.dict(exclude_none=True) for lb in svc.legal_basis]
    return data


def write_catalog(db_url: str, content: Content) -> Dict[str, int]:
    """Replace the catalogue tables with ``content`` in a single transaction."""
    with session_scope(db_url) as s:
        for table in (
            models.EntryPoint,
            models.OfficeService,
            models.Office,
            models.Amount,
            models.ServiceOverride,
            models.OutOfScopeTopic,
            models.Service,
            models.CatalogMeta,
        ):
            s.execute(delete(table))
        # Regions reference their parents: delete children first.
        s.execute(delete(models.Region).where(models.Region.level == "district"))
        s.execute(delete(models.Region).where(models.Region.level == "city"))
        s.execute(delete(models.Region))
        s.flush()

        for pos, svc in enumerate(content.services):
            s.add(
                models.Service(
                    code=svc.code,
                    name=svc.name,
                    domain=svc.domain,
                    fields=_service_fields(svc),
                    keywords=svc.keywords,
                    office_kinds=svc.office_kinds,
                    needs_region=svc.needs_region,
                    source=svc.source,
                    last_checked=svc.last_checked,
                    sample=svc.sample,
                    position=pos,
                )
            )
        s.flush()
        n_offices = n_overrides = 0
        for region, parent in content.regions:
            s.add(
                models.Region(
                    code=region.code,
                    name=region.name,
                    short_name=region.short_name,
                    level=region.level,
                    parent_code=parent,
                    aliases=region.aliases,
                    hotline=region.hotline,
                    ambiguous_short_name=region.ambiguous_short_name,
                )
            )
            s.flush()
            for ov in region.overrides:
                row = models.ServiceOverride(
                    service_code=ov.service,
                    region_code=region.code,
                    fields=json.loads(ov.fields.json(exclude_none=True)),
                    automatic=ov.automatic,
                    sample=ov.sample,
                    source=ov.source,
                    last_checked=ov.last_checked,
                )
                row.amounts = [
                    models.Amount(position=i, **a.dict()) for i, a in enumerate(ov.amounts)
                ]
                s.add(row)
                n_overrides += 1
            for pos, office in enumerate(region.offices):
                s.add(
                    models.Office(
                        code=office.code,
                        region_code=region.code,
                        name=office.name,
                        kind=office.kind,
                        address=office.address,
                        hours=office.hours,
                        phone=office.phone,
                        booking=office.booking,
                        sample=office.sample,
                        position=pos,
                    )
                )
                s.flush()
                for code in office.services:
                    s.add(models.OfficeService(office_code=office.code, service_code=code))
                n_offices += 1
        for topic in content.out_of_scope:
            s.add(models.OutOfScopeTopic(**topic.dict()))
        s.flush()
        for pos, ep in enumerate(content.entry_points):
            s.add(models.EntryPoint(id=ep.id, service_code=ep.service, region_code=ep.region,
                                    office_code=ep.office, label=ep.label, position=pos))
        if content.faq:
            from ..faq import to_json

            s.add(models.CatalogMeta(key="faq", value=json.dumps(to_json(content.faq), ensure_ascii=False)))
        for key, value in (("rules.eligibility", content.eligibility), ("rules.funeral", content.funeral),
                           ("featured", {"cities": content.featured_cities, "services": content.menu_services})):
            if value is not None:
                s.add(models.CatalogMeta(key=key, value=json.dumps(value, ensure_ascii=False)))
        s.add(models.CatalogMeta(key="content_digest", value=content.digest))
    return {
        "services": len(content.services),
        "regions": len(content.regions),
        "overrides": n_overrides,
        "offices": n_offices,
        "out_of_scope": len(content.out_of_scope),
        "entry_points": len(content.entry_points),
        "faq": len(content.faq),
    }
