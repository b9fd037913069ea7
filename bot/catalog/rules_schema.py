"""Schema of the rules files ``bot/content/rules/*.yml`` (eligibility, funeral checklist).

The shapes are pydantic models like the rest of the content (``schema.py``); the
checks across fields and files (national layer complete, bands in age order, region
codes known to ``regions/*.yml``) are in :func:`check_eligibility` and
:func:`check_funeral`. Both return the problems as ``file: field: message`` lines.

Local figures are stored once: a region's eligibility layer without ``bands`` takes
them from the catalogue ``amounts`` of the benefit's service in that region, and a
layer without ``label`` takes the region's name (:func:`with_catalogue`).
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple

from pydantic import BaseModel, Extra, conint, conlist, constr, root_validator
from pydantic import StrictBool

from .layers import NATIONAL
from .validate import parse

ECONOMIC = ("dibao", "tekun", "low_income", "none")
CARE_LEVELS = ("intact", "mild", "moderate", "severe", "total")
STEP_KEYS = (
    "police", "certificate_hospital", "certificate_community", "certificate_unnatural", "transport", "hukou",
    "cremation", "burial", "assistance", "pension_employee", "pension_resident", "pension_unknown", "bank",
)
MONEY_KINDS = ("receive", "waived", "pay", "maybe")
REGION_CODE = re.compile(r"^[a-z][a-z0-9_-]*$")
BENEFIT_CODE = re.compile(r"^[a-z]+\.[a-z_]+$")

Text = constr(strict=True, strip_whitespace=True, min_length=1)
Age = conint(strict=True, ge=0, le=150)
Economic = Literal[ECONOMIC]  # type: ignore[valid-type]
CareLevel = Literal[CARE_LEVELS]  # type: ignore[valid-type]


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid


# --------------------------------------------------------------------------- eligibility.yml


class Band(_Strict):
    """An age band (inclusive bounds) with a monthly amount or an amount text."""

    min_age: Age
    max_age: Optional[Age] = None
    label: Text
    monthly: Optional[conint(strict=True, ge=0)] = None
    amount_text: Optional[Text] = None

    class Config:
        frozen = True

    @root_validator(skip_on_failure=True)
    def _one_amount(cls, values):
        if (values.get("monthly") is None) == (values.get("amount_text") is None):
            raise ValueError("give exactly one of monthly or amount_text")
        return values

    def matches(self, age: int) -> bool:
        return age >= self.min_age and (self.max_age is None or age <= self.max_age)

    @property
    def amount(self) -> str:
        return f"每月{self.monthly}元" if self.monthly is not None else (self.amount_text or "")


class BenefitRule(_Strict):
    """One layer of a benefit's rule: only the fields it sets (see eligibility.yml's header)."""

    sample: Optional[StrictBool] = None
    unverified: Optional[StrictBool] = None
    typical: Optional[StrictBool] = None
    local_only: Optional[StrictBool] = None
    automatic: Optional[StrictBool] = None
    requires_local_hukou: Optional[StrictBool] = None
    valid_from: Optional[dt.date] = None
    min_age: Optional[Age] = None
    care_not_needed_from_age: Optional[Age] = None
    hukou_label: Optional[Text] = None
    non_local_note: Optional[Text] = None
    amount_text: Optional[Text] = None
    not_eligible_note: Optional[Text] = None
    apply: Optional[Text] = None
    source: Optional[Text] = None
    excluded_note: Optional[Text] = None
    economic: Optional[conlist(Economic, min_items=1)] = None
    excluded_economic: Optional[conlist(Economic, min_items=1)] = None
    care_levels: Optional[conlist(CareLevel, min_items=1)] = None
    # for people who need long-term care, as local offices judge it (重度残疾人护理补贴):
    # with no care answer, or an elder who looks after themselves, the result is "may qualify"
    long_term_care: Optional[StrictBool] = None
    disability_levels: Optional[conlist(conint(strict=True, ge=1, le=4), min_items=1)] = None
    bands: Optional[conlist(Band, min_items=1)] = None
    notes: Optional[List[Text]] = None

    def layer(self) -> Dict[str, Any]:
        """The fields this layer sets (bands stay :class:`Band` objects)."""
        return {k: getattr(self, k) for k in self.__fields_set__ if getattr(self, k) is not None}


class BenefitDef(_Strict):
    code: Text
    name: Text
    service: Optional[Text] = None


class EligibilityLayer(_Strict):
    label: Optional[Text] = None
    benefits: Dict[str, BenefitRule]


class EligibilityFile(_Strict):
    version: Optional[int] = None
    benefits: conlist(BenefitDef, min_items=1)
    regions: Dict[str, EligibilityLayer]


_NATIONAL_RULE = ("min_age", "apply", "source")


def _check_bands(bands: List[Band], where: str, problems: List[str]) -> None:
    for i, b in enumerate(bands):
        if b.max_age is not None and b.max_age < b.min_age:
            problems.append(f"{where}.{i}.max_age: expected a number between {b.min_age} and 150")
        if i and (bands[i - 1].max_age is None or b.min_age <= bands[i - 1].max_age):
            problems.append(f"{where}.{i}.min_age: bands must be in age order and must not overlap")


def check_eligibility(data: Any, shown: str, problems: List[str],
                      regions: Optional[Mapping[str, str]] = None) -> Optional[EligibilityFile]:
    """Validate eligibility rules; ``regions`` (code -> name) are the catalogue's, when known."""
    start = len(problems)
    parsed = parse(EligibilityFile, data, shown, problems)
    if parsed is None:
        return None
    p = problems
    codes: List[str] = []
    for i, b in enumerate(parsed.benefits):
        if not BENEFIT_CODE.match(b.code):
            p.append(f"{shown}: benefits.{i}.code: bad benefit code {b.code!r}")
        elif b.code in codes:
            p.append(f"{shown}: benefits.{i}.code: duplicate benefit code {b.code!r}")
        codes.append(b.code)
    if NATIONAL not in parsed.regions:
        p.append(f"{shown}: regions.{NATIONAL}: field required")
    for code, layer in parsed.regions.items():
        w = f"{shown}: regions.{code}"
        if not REGION_CODE.match(code):
            p.append(f"{w}: bad region code {code!r}")
            continue
        if code != NATIONAL and regions is not None and code not in regions:
            p.append(f"{w}: unknown region code {code!r}")
        if layer.label is None and (code == NATIONAL or regions is None):
            p.append(f"{w}.label: field required")
        for bcode, rule in layer.benefits.items():
            bw = f"{w}.benefits.{bcode}"
            if bcode not in codes:
                p.append(f"{bw}: unknown benefit (not listed under benefits)")
                continue
            if code == NATIONAL:
                for key in _NATIONAL_RULE:
                    if getattr(rule, key) is None:
                        p.append(f"{bw}.{key}: field required")
                if rule.requires_local_hukou and rule.hukou_label is None:
                    p.append(f"{bw}.hukou_label: field required when requires_local_hukou is true")
                if rule.care_not_needed_from_age is not None and rule.care_levels is None:
                    p.append(f"{bw}.care_not_needed_from_age: only meaningful with care_levels")
            if rule.bands:
                _check_bands(rule.bands, f"{bw}.bands", p)
    national = parsed.regions.get(NATIONAL)
    if national is not None:
        for b in parsed.benefits:
            if b.code not in national.benefits:
                p.append(f"{shown}: regions.{NATIONAL}.benefits.{b.code}: every benefit needs a national rule")
    return parsed if len(problems) == start else None


# --------------------------------------------------------------------------- funeral.yml


class Step(_Strict):
    title: Optional[Text] = None
    where: Optional[Text] = None
    bring: Optional[List[Text]] = None
    time_limit: Optional[Text] = None
    money: Optional[Text] = None
    money_kind: Optional[Literal[MONEY_KINDS]] = None  # type: ignore[valid-type]
    notes: Optional[List[Text]] = None
    source: Optional[Text] = None
    sample: Optional[StrictBool] = None

    def layer(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self.__fields_set__ if getattr(self, k) is not None}


class FeeWaiver(_Strict):
    applies_to: Literal["local", "hukou"]
    text: Text
    low_income_text: Optional[Text] = None
    hukou_label: Optional[Text] = None
    services: Optional[List[Text]] = None
    valid_from: Optional[dt.date] = None
    source: Text
    sample: StrictBool = False


class SocialSecurity(_Strict):
    income_base_monthly: conint(strict=True, ge=1)
    income_base_year: conint(strict=True, ge=2000, le=2100)
    income_base_label: Text = "参保地所在省份"
    source: Text
    sample: StrictBool = False


class FuneralLayer(_Strict):
    label: Optional[Text] = None
    notes: Optional[List[Text]] = None
    fee_waiver: Optional[FeeWaiver] = None
    social_security: Optional[SocialSecurity] = None
    steps: Dict[str, Step] = {}


class FuneralFile(_Strict):
    version: Optional[int] = None
    regions: Dict[str, FuneralLayer]


_STEP_REQUIRED = ("title", "where", "bring", "time_limit", "source")


def check_funeral(data: Any, shown: str, problems: List[str],
                  regions: Optional[Mapping[str, str]] = None) -> Optional[FuneralFile]:
    start = len(problems)
    parsed = parse(FuneralFile, data, shown, problems)
    if parsed is None:
        return None
    p = problems
    if NATIONAL not in parsed.regions:
        p.append(f"{shown}: regions.{NATIONAL}: field required")
    for code, layer in parsed.regions.items():
        w = f"{shown}: regions.{code}"
        national = code == NATIONAL
        if not REGION_CODE.match(code):
            p.append(f"{w}: bad region code {code!r}")
            continue
        if not national and regions is not None and code not in regions:
            p.append(f"{w}: unknown region code {code!r}")
        if layer.label is None and (national or regions is None):
            p.append(f"{w}.label: field required")
        if national:
            for key in ("notes", "fee_waiver"):
                if getattr(layer, key) is None:
                    p.append(f"{w}.{key}: field required")
        for key, step in layer.steps.items():
            sw = f"{w}.steps.{key}"
            if key not in STEP_KEYS:
                p.append(f"{sw}: unknown step; expected one of {', '.join(STEP_KEYS)}")
                continue
            if national:
                p.extend(f"{sw}.{f}: field required" for f in _STEP_REQUIRED if getattr(step, f) is None)
                if step.money is not None and step.money_kind is None:
                    p.append(f"{sw}.money_kind: field required when money is given")
        if national:
            p.extend(f"{w}.steps.{k}: field required" for k in STEP_KEYS if k not in layer.steps)
        fw = layer.fee_waiver
        if fw is not None and fw.applies_to == "hukou":
            p.extend(f"{w}.fee_waiver.{k}: field required when applies_to is hukou"
                     for k in ("hukou_label", "services") if getattr(fw, k) is None)
    return parsed if len(problems) == start else None


# --------------------------------------------------------------------------- facts from the catalogue


@dataclass
class CatalogueFacts:
    """What the rules files take from ``regions/*.yml`` instead of repeating it."""

    names: Dict[str, str] = field(default_factory=dict)  # region code -> name (杭州市)
    parents: Dict[str, Optional[str]] = field(default_factory=dict)
    amounts: Dict[Tuple[str, str], List[dict]] = field(default_factory=dict)  # (region, service) -> amounts


def _band(amount: dict) -> Optional[dict]:
    if amount.get("min_age") is None:
        return None
    out = {"min_age": amount["min_age"], "label": amount["label"]}
    if amount.get("max_age") is not None:
        out["max_age"] = amount["max_age"]
    monthly = amount.get("monthly")
    if monthly is not None:
        out["monthly"] = int(monthly) if float(monthly).is_integer() else monthly
    else:
        out["amount_text"] = amount.get("amount_text")
    return out


def with_catalogue(data: Any, facts: Optional[CatalogueFacts]) -> Any:
    """The rules mapping with labels and bands filled in from the catalogue (a copy)."""
    if facts is None or not isinstance(data, dict) or not isinstance(data.get("regions"), dict):
        return data
    data = copy.deepcopy(data)
    services = {b.get("code"): b.get("service") or b.get("code")
                for b in data.get("benefits") or [] if isinstance(b, dict)}
    for code, layer in data["regions"].items():
        if not isinstance(layer, dict):
            continue
        if "label" not in layer and code in facts.names:
            layer["label"] = facts.names[code]
        for bcode, rule in (layer.get("benefits") or {}).items():
            if not isinstance(rule, dict) or "bands" in rule or code == NATIONAL:
                continue
            bands = [_band(a) for a in facts.amounts.get((code, services.get(bcode)), [])]
            if bands and all(bands):
                rule["bands"] = bands
    return data
