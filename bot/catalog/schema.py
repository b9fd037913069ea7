"""Validation schema for the catalogue content (YAML under ``bot/content``).

The YAML files are the source of truth; this module describes their shape.
Errors are reported with the file name and the dotted path of the field, e.g.
``bot/content/services/marriage.yml: services.0.materials: field required``.

Layout
------
``bot/content/services/*.yml``   national rules, one list ``services:`` per file
``bot/content/regions/*.yml``    one region tree per file (a province with its
                                  cities and districts), local overrides,
                                  offices and amounts
``bot/content/out_of_scope.yml`` topics we do not handle and who does
``bot/content/entry_points.yml``  QR-code entry points (service, region, office)
``bot/content/faq/*.yml``        FAQ answers (schema in ``bot.faq``)
``bot/content/rules/*.yml``      eligibility and funeral-checklist rules (``rules_schema.py``)
``bot/content/booking.yml``      appointment schedules (``BookingFile``)
``bot/content/applications.yml`` sample applications for the status lookup (``ApplicationsFile``)
"""
from __future__ import annotations

import datetime as dt
import re
from typing import List, Literal, Optional

from pydantic import BaseModel, Extra, Field, StrictBool, StrictStr, conint, conlist, constr, validator

SERVICE_CODE = re.compile(r"^[a-z]+\.[a-z_]+$")
REGION_CODE = re.compile(r"^[a-z][a-z0-9_-]*$")
# Telegram deep-link payloads allow exactly these characters and lengths.
ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# service domains (the first part of a service code) and their titles in the menu
DOMAINS = {
    "marriage": "婚姻登记",
    "funeral": "殡葬服务",
    "elder": "养老服务",
    "assistance": "社会救助",
    "disability": "残疾人福利",
    "child": "儿童福利",
    "adoption": "收养登记",
}


class Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True


class LegalBasis(Strict):
    title: str = Field(..., min_length=2, description="e.g. 中华人民共和国民法典")
    article: Optional[str] = Field(None, description="e.g. 第1047条")
    note: Optional[str] = None


class ServiceText(Strict):
    """Fields that a region may override, all optional."""

    summary: Optional[str] = None
    conditions: Optional[List[str]] = None
    materials: Optional[List[str]] = None
    steps: Optional[List[str]] = None
    fees: Optional[str] = None
    time_limit: Optional[str] = None
    notes: Optional[List[str]] = None
    legal_basis: Optional[List[LegalBasis]] = None
    apply_online: Optional[str] = None


class Service(Strict):
    code: str
    name: str = Field(..., min_length=2)
    domain: str
    keywords: List[StrictStr] = Field(default_factory=list)
    summary: str = Field(..., min_length=10)
    conditions: List[str] = Field(..., min_items=1)
    materials: List[str] = Field(..., min_items=1)
    steps: List[str] = Field(..., min_items=1)
    fees: str
    time_limit: str
    notes: List[str] = Field(default_factory=list)
    national_notes: List[str] = Field(
        default_factory=list,
        description="examples from named places (深圳、北京 …): shown in the national guide only, never in a local one",
    )
    legal_basis: List[LegalBasis] = Field(..., min_items=1)
    apply_online: Optional[str] = None
    office_kinds: List[str] = Field(..., min_items=1)
    needs_region: bool = True
    source: str = Field(..., min_length=4)
    last_checked: dt.date
    sample: bool = False
    menu: Optional[int] = Field(
        None, ge=1, description="position among the menu buttons (welcome, 我能办什么); none: not a button"
    )

    @validator("code")
    def _code(cls, v: str) -> str:
        if not SERVICE_CODE.match(v):
            raise ValueError("must look like 'domain.name' in lower case")
        return v

    @validator("domain")
    def _domain(cls, v: str, values) -> str:
        if v not in DOMAINS:
            raise ValueError(f"must be one of {', '.join(DOMAINS)}")
        code = values.get("code")
        if code and code.split(".", 1)[0] != v:
            raise ValueError(f"must be the first part of the code ({code.split('.', 1)[0]})")
        return v


class ServicesFile(Strict):
    services: List[Service] = Field(..., min_items=1)


class Amount(Strict):
    """A local benefit amount, optionally by age band (inclusive bounds)."""

    label: str
    min_age: Optional[int] = Field(None, ge=0, le=150)
    max_age: Optional[int] = Field(None, ge=0, le=150)
    monthly: Optional[float] = Field(None, ge=0)
    amount_text: Optional[str] = None

    @validator("amount_text", always=True)
    def _some_amount(cls, v, values):
        if v is None and values.get("monthly") is None:
            raise ValueError("give monthly or amount_text")
        return v


class Override(Strict):
    service: str
    sample: bool = False
    source: str = Field(..., min_length=4)
    last_checked: dt.date
    fields: ServiceText = Field(default_factory=ServiceText)
    amounts: List[Amount] = Field(default_factory=list)
    automatic: bool = Field(False, description="paid without application (免申即享)")


class Office(Strict):
    code: str
    name: str
    kind: str
    services: List[str] = Field(..., min_items=1)
    address: str
    hours: str
    phone: Optional[str] = None
    booking: Optional[str] = None
    sample: bool = True

    @validator("code")
    def _code(cls, v: str) -> str:
        if not REGION_CODE.match(v):
            raise ValueError("use lower-case letters, digits, '-' or '_'")
        return v


class Region(Strict):
    code: str
    name: str = Field(..., description="full name, e.g. 杭州市")
    short_name: str = Field(..., description="e.g. 杭州")
    level: str
    aliases: List[str] = Field(default_factory=list)
    hotline: Optional[str] = None
    ambiguous_short_name: bool = Field(
        False, description="the short name is also a common word (站前, 海港): match it only after the city name"
    )
    featured: Optional[int] = Field(
        None, ge=1, description="position among the city buttons offered when the bot asks for the place"
    )
    overrides: List[Override] = Field(default_factory=list)
    offices: List[Office] = Field(default_factory=list)
    children: List[Region] = Field(default_factory=list)

    @validator("code")
    def _code(cls, v: str) -> str:
        if not REGION_CODE.match(v):
            raise ValueError("use lower-case letters, digits, '-' or '_'")
        return v

    @validator("level")
    def _level(cls, v: str) -> str:
        if v not in ("province", "city", "district"):
            raise ValueError("must be province, city or district")
        return v


Region.update_forward_refs()


class RegionsFile(Strict):
    regions: List[Region] = Field(..., min_items=1)


class OutOfScopeTopic(Strict):
    topic: str
    keywords: List[StrictStr] = Field(..., min_items=1)
    agency: str
    hotline: Optional[str] = None
    hint: Optional[str] = None


class OutOfScopeFile(Strict):
    topics: List[OutOfScopeTopic] = Field(..., min_items=1)


class EntryPoint(Strict):
    """A QR code on an office wall: opens the chat on one service (and office)."""

    id: str = Field(..., description="the deep-link payload, [A-Za-z0-9_-]{1,64}")
    service: str
    region: Optional[str] = Field(None, description="region code; defaults to the office's region")
    office: Optional[str] = Field(None, description="office code; must offer the service")
    label: str = Field(..., min_length=2, description="shown on the poster, e.g. 西湖区婚姻登记处 结婚登记")
    elder_mode: bool = Field(False, description="the web chat opens in 长辈版 (large type; docs/elder-mode.md)")

    @validator("id")
    def _id(cls, v: str) -> str:
        if not ENTRY_ID.match(v):
            raise ValueError("use 1-64 characters from A-Z, a-z, 0-9, '_' and '-'")
        return v


class EntryPointsFile(Strict):
    entry_points: List[EntryPoint] = Field(default_factory=list)


# -- booking.yml (bot.booking) and applications.yml (bot.status_lookup) ------------------------

BOOKING_KINDS = ("marriage", "divorce")


def _form(pattern: str, what: str):
    """A validator: the text must match ``pattern``; the error says ``what`` is expected."""
    compiled = re.compile(pattern)

    def check(cls, v):
        if not isinstance(v, str) or not compiled.match(v):
            raise ValueError(f"expected {what}, got {v!r}")
        return v
    return check


class Slot(Strict):
    start: str = Field(..., description='"HH:MM"')
    end: str
    capacity: conint(strict=True, ge=1, le=500) = Field(..., description="couples per slot and kind")

    _time = validator("start", "end", pre=True, allow_reuse=True)(
        _form(r"^([01]\d|2[0-3]):[0-5]\d$", 'a time like "09:00"'))


class SpecialDay(Strict):
    rule: str = Field(..., description='"MM-DD" every year, "YYYY-MM-DD" once, or "qixi" (七夕)')
    label: constr(strict=True, min_length=1)
    capacity: conint(strict=True, ge=1, le=500)
    kinds: conlist(Literal[BOOKING_KINDS], min_items=1) = list(BOOKING_KINDS)  # type: ignore[valid-type]

    _rule = validator("rule", pre=True, allow_reuse=True)(
        _form(r"^(qixi|\d{2}-\d{2}|\d{4}-\d{2}-\d{2})$", '"MM-DD", "YYYY-MM-DD" or "qixi"'))


class OfficeSchedule(Strict):
    """One office's schedule, after the file's ``defaults`` are applied."""

    office: constr(strict=True, min_length=1)
    sample: StrictBool = True
    kinds: conlist(Literal[BOOKING_KINDS], min_items=1) = list(BOOKING_KINDS)  # type: ignore[valid-type]
    weekdays: conlist(conint(strict=True, ge=1, le=7), min_items=1) = Field(..., description="1 = Monday")
    slots: conlist(Slot, min_items=1)
    special_days: List[SpecialDay] = Field(default_factory=list)
    horizon_days: conint(strict=True, ge=1, le=180) = 30


class BookingFile(Strict):
    offices: conlist(OfficeSchedule, min_items=1)


class ApplicationStep(Strict):
    at: dt.datetime = Field(..., description='"YYYY-MM-DD HH:MM"')
    status: constr(strict=True, min_length=1)
    note: Optional[str] = None


class Application(Strict):
    number: str = Field(..., description="6-32 capital letters or digits")
    service: str
    region: Optional[str] = None
    name: constr(min_length=1)
    phone: str = Field(..., description="an 11-digit mobile number")
    history: conlist(ApplicationStep, min_items=1)

    _number = validator("number", pre=True, allow_reuse=True)(
        _form(r"^[A-Z0-9]{6,32}$", "6-32 capital letters or digits"))
    _phone = validator("phone", pre=True, allow_reuse=True)(_form(r"^1\d{10}$", "an 11-digit mobile number"))


class ApplicationsFile(Strict):
    applications: List[Application]
