"""Load the YAML content into the catalogue database.

``load_content`` reads and validates every file and cross-checks references
(service codes, unique region and office codes) before anything is written;
``write_catalog`` replaces the catalogue tables in one transaction, so a broken
file never leaves a half-loaded database.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import yaml
from pydantic import ValidationError
from sqlalchemy import delete

from . import models
from .db import session_scope
from .schema import EntryPoint, EntryPointsFile, OutOfScopeFile, Region, RegionsFile, Service, ServicesFile


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
    digest: str = ""


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent.parent))
    except ValueError:
        return str(path)


def _read_yaml(path: Path, shown: str, problems: List[str]):
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        problems.append(f"{shown}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{shown}: (top): expected a mapping")
        return None
    return data


def _validate(model, data, shown: str, problems: List[str]):
    try:
        return model.parse_obj(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(f"{shown}: {loc}: {err['msg']}")
        return None


def _walk(region: Region, parent: Optional[str], path: str) -> Iterable[Tuple[Region, Optional[str], str]]:
    yield region, parent, path
    for i, child in enumerate(region.children):
        yield from _walk(child, region.code, f"{path}.children.{i}")


def load_content(content_dir: Path) -> Content:
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

    service_where: Dict[str, str] = {}
    region_where: Dict[str, str] = {}
    office_where: Dict[str, str] = {}
    office_info: Dict[str, Tuple[str, List[str]]] = {}  # office code -> (region code, services)
    parents: Dict[str, Optional[str]] = {}
    entry_files: List[Tuple[str, EntryPointsFile]] = []
    faq_files: list = []  # (shown, FaqFile)
    pending_refs: List[Tuple[str, str]] = []  # (service code, "file: field")

    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
        shown = _display(path, content_dir)
        data = _read_yaml(path, shown, problems)
        if data is None:
            continue
        if path.parent.name == "services":
            parsed = _validate(ServicesFile, data, shown, problems)
            if parsed is None:
                continue
            for i, svc in enumerate(parsed.services):
                if svc.code in service_where:
                    problems.append(
                        f"{shown}: services.{i}.code: duplicate service code {svc.code!r} "
                        f"(also in {service_where[svc.code]})"
                    )
                    continue
                service_where[svc.code] = shown
                content.services.append(svc)
        elif path.parent.name == "regions":
            parsed = _validate(RegionsFile, data, shown, problems)
            if parsed is None:
                continue
            for i, top in enumerate(parsed.regions):
                for region, parent, rpath in _walk(top, None, f"regions.{i}"):
                    if region.code in region_where:
                        problems.append(
                            f"{shown}: {rpath}.code: duplicate region code {region.code!r} "
                            f"(also in {region_where[region.code]})"
                        )
                        continue
                    region_where[region.code] = shown
                    parents[region.code] = parent
                    content.regions.append((region, parent))
                    for j, ov in enumerate(region.overrides):
                        pending_refs.append((ov.service, f"{shown}: {rpath}.overrides.{j}.service"))
                    for j, office in enumerate(region.offices):
                        if office.code in office_where:
                            problems.append(
                                f"{shown}: {rpath}.offices.{j}.code: duplicate office code "
                                f"{office.code!r} (also in {office_where[office.code]})"
                            )
                        office_where[office.code] = shown
                        office_info[office.code] = (region.code, list(office.services))
                        for k, code in enumerate(office.services):
                            pending_refs.append((code, f"{shown}: {rpath}.offices.{j}.services.{k}"))
        elif path.parent.name == "faq":
            from ..faq import FaqFile

            parsed = _validate(FaqFile, data, shown, problems)
            if parsed is not None:
                faq_files.append((shown, parsed))
        elif path.name == "entry_points.yml":
            parsed = _validate(EntryPointsFile, data, shown, problems)
            if parsed is not None:
                entry_files.append((shown, parsed))
        else:
            parsed = _validate(OutOfScopeFile, data, shown, problems)
            if parsed is not None:
                content.out_of_scope = parsed.topics

    for code, where in pending_refs:
        if code not in service_where:
            problems.append(f"{where}: unknown service code {code!r}")
    for shown, parsed in entry_files:
        content.entry_points = _check_entry_points(
            shown, parsed.entry_points, service_where, parents, office_info, problems
        )
    if faq_files:
        from ..faq import check_entries

        faq_seen: Dict[str, str] = {}
        for shown, parsed in faq_files:
            content.faq += check_entries(shown, parsed, list(service_where), list(region_where), faq_seen, problems)
    if not content.services:
        problems.append(f"{content_dir / 'services'}: no services defined")
    if problems:
        raise ContentError(problems)
    content.digest = digest.hexdigest()[:16]
    return content


def _chain(code: str, parents: Dict[str, Optional[str]]) -> List[str]:
    out: List[str] = []
    current: Optional[str] = code
    while current is not None and current not in out:
        out.append(current)
        current = parents.get(current)
    return out


def _check_entry_points(shown: str, entries: List[EntryPoint], services: Dict[str, str],
                        parents: Dict[str, Optional[str]], offices: Dict[str, Tuple[str, List[str]]],
                        problems: List[str]) -> List[EntryPoint]:
    """Entry points must name a known service, region and office that fit together.

    The office must offer the service and lie in the entry's region or one of its
    ancestors; without a region, the entry takes the office's region.
    """
    seen: Dict[str, int] = {}
    good: List[EntryPoint] = []
    for i, ep in enumerate(entries):
        where = f"{shown}: entry_points.{i}"
        before = len(problems)
        if ep.id in seen:
            problems.append(f"{where}.id: duplicate entry point {ep.id!r} (also entry_points.{seen[ep.id]})")
        seen.setdefault(ep.id, i)
        if ep.service not in services:
            problems.append(f"{where}.service: unknown service code {ep.service!r}")
        if ep.region is not None and ep.region not in parents:
            problems.append(f"{where}.region: unknown region code {ep.region!r}")
        if ep.office is not None:
            if ep.office not in offices:
                problems.append(f"{where}.office: unknown office code {ep.office!r}")
            else:
                office_region, office_services = offices[ep.office]
                if ep.service not in office_services:
                    problems.append(f"{where}.office: office {ep.office!r} does not offer {ep.service!r}")
                if ep.region is None:
                    ep = ep.copy(update={"region": office_region})
                elif ep.region in parents and office_region not in _chain(ep.region, parents):
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
