"""Elder-care subsidy check (养老补贴测算): pure domain logic, no Rasa or Telegram.

``check(profile, rules)`` tells, for each benefit in ``bot/content/rules/eligibility.yml``,
whether the elder qualifies, how much, why, what is still unknown and how to apply.
Rules come in layers (national → province → city → district), merged by
:func:`bot.catalog.layers.merge` like guides and the funeral checklist: the most
specific layer wins field by field. ``render_text`` turns the result into a short
Chinese answer. The file's shape is ``bot.catalog.rules_schema``; local amounts and
region names come from ``regions/*.yml`` (stored once).

Statuses
--------
``eligible``      every condition of a binding rule is met
``likely``        conditions met, but the rule is only common local practice
                  (``typical``) or the care level has not been officially assessed
``not_eligible``  a condition fails; ``unmet`` says which
``unknown``       an answer (or local data) is missing; ``missing`` says which

Region ancestry
---------------
``parents`` may be a callable ``code -> [codes, most specific first]``, a mapping
``code -> parent code`` or ``code -> [ancestors]``, or ``None``: then the parent
links of the catalogue the rules were loaded with (``rules.parents``) are used,
else the hyphenated codes (``zhejiang-hangzhou-xihu`` → ``zhejiang-hangzhou`` →
``zhejiang``). ``national`` always ends the chain.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from .ages import parse_age
from .catalog import layers
from .catalog.layers import NATIONAL
from .catalog.rules_schema import CARE_LEVELS, ECONOMIC, Band, CatalogueFacts, check_eligibility, with_catalogue
from .catalog.validate import read_yaml as _read_yaml
from .catalog.validate import split
from .config import CONTENT_DIR
from .eligibility_answers import (  # noqa: F401 - part of this module's interface (__all__)
    care_level_from_text, mentions_disability, parse_disability_level, parse_economic, parse_yes_no,
    says_severe_disability, self_care_from_adl,
)

__all__ = [
    "CARE_LEVELS", "ECONOMIC", "GRADE_LABELS", "NATIONAL", "SEVERE_GRADES", "BenefitResult", "ElderProfile",
    "EligibilityResult", "EligibilityRules", "RulesError", "Status", "care_level_from_text", "check",
    "disability_benefits", "disability_conditions", "load_rules", "mentions_disability", "parse_age",
    "parse_disability_level", "parse_economic", "parse_yes_no", "region_chain", "render_text", "rules_from_mapping",
    "says_severe_disability", "self_care_from_adl",
]

DEFAULT_RULES_PATH = CONTENT_DIR / "rules" / "eligibility.yml"

ECONOMIC_LABELS = {"dibao": "低保", "tekun": "特困", "low_income": "低收入", "none": "非低保、特困或低收入"}
ECONOMIC_STATE = {
    "dibao": "是低保家庭", "tekun": "是特困人员", "low_income": "是低收入家庭",
    "none": "不属于低保、特困或低收入家庭",
}
GRADE_LABELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}  # 残疾人证 grades (GB/T 26341-2010)
# "重度残疾人" as 国发〔2015〕52号 uses the words: the grades "重度" may mean (which benefit
# takes which grades is the rules' disability_levels, not this)
SEVERE_GRADES = (1, 2)
CARE_LABELS = {  # GB/T 42195-2022 levels
    "intact": "能力完好", "mild": "轻度失能", "moderate": "中度失能", "severe": "重度失能", "total": "完全失能",
}

# what the bot asks for each missing answer, in the order it should ask
QUESTIONS = {
    "region": "老人住在哪个城市？告诉我市或区县的名字就行。",
    "local_hukou": "老人是{hukou_label}吗？",
    "economic": "老人家里是低保户、特困人员或低收入家庭吗？都不是的话，回答“都不是”就行。",
    "care_level": "老人生活能自理吗？做过老年人能力评估的，请直接告诉我评估等级。",
}
MISSING_TEXT = {
    "region": "老人所在的城市或区县",
    "local_hukou": "老人的户籍是否在当地",
    "economic": "家庭经济状况（低保、特困、低收入）",
    "care_level": "老人的失能程度",
    "local_rules": "当地的具体标准（暂未收录，请向户籍所在社区或民政部门确认）",
}
_MISSING_ORDER = ("region", "local_hukou", "economic", "care_level", "local_rules")

SAMPLE_NOTE = "提示：标有“示例数据”的金额和条件尚未核实，仅供参考，办理前请向户籍所在社区或当地民政部门确认。"
UNVERIFIED_NOTE = "提示：养老服务消费补贴的信息来自公开报道，尚待官方文件核实，以当地民政部门的通知为准。"
ASSESSMENT_ADVICE = (
    "失能程度要以老年人能力评估的结论为准：可以向社区、乡镇（街道）或当地民政部门指定的评估机构申请评估，"
    "行动不便的很多地方可以上门评估。"
)


# --------------------------------------------------------------------------- rules files


class RulesError(ValueError):
    """Invalid rules data; the message names the file and the dotted field."""

    def __init__(self, file: Union[str, Path], field_path: str, message: str):
        self.file = str(file)
        self.field = field_path
        self.message = message
        super().__init__(f"{self.file}: {field_path}: {message}")

    @classmethod
    def first(cls, problems: List[str]) -> RulesError:
        return cls(*split(problems[0]))


_NOT_INHERITED = ("typical", "local_only")


@dataclass(frozen=True)
class Benefit:
    code: str
    name: str
    service: str  # the catalogue service that describes it


@dataclass
class ResolvedRule:
    """A benefit's rule after merging the layers of a region chain."""

    fields: Dict[str, Any]
    region: str  # most specific region that contributed
    sample: bool


@dataclass
class EligibilityRules(layers.LayeredRules):
    """``layers``: region -> benefit code -> the fields set there."""

    benefits: List[Benefit] = field(default_factory=list)

    def resolve(self, benefit_code: str, chain: Sequence[str]) -> ResolvedRule:
        r = self.merged(chain, lambda layer: layer.get(benefit_code), reset=_NOT_INHERITED)
        return ResolvedRule(r.fields, r.region, r.sample)


def rules_from_mapping(data: Any, source: str = "<rules>", facts: Optional[CatalogueFacts] = None) -> EligibilityRules:
    """Validate already-parsed rules data (the YAML structure) and build the rules.

    ``facts``: the catalogue's region names, parents and amounts (labels and bands a
    layer leaves out come from there). Raises :class:`RulesError` naming file and field.
    """
    return validated(build_rules, data, source, facts)


def load_rules(path: Union[str, Path] = DEFAULT_RULES_PATH) -> EligibilityRules:
    """Read and validate ``eligibility.yml``; raises :class:`RulesError` naming the file and field."""
    return loaded(build_rules, path)


def build_rules(data: Any, source: str, problems: List[str],
                facts: Optional[CatalogueFacts] = None) -> Optional[EligibilityRules]:
    """Like :func:`rules_from_mapping`, collecting the problems instead of raising."""
    parsed = check_eligibility(with_catalogue(data, facts), source, problems, facts.names if facts else None)
    if parsed is None:
        return None
    benefits = [Benefit(b.code, b.name, b.service or b.code) for b in parsed.benefits]
    rule_layers = {code: {b: rule.layer() for b, rule in layer.benefits.items()}
                   for code, layer in parsed.regions.items()}
    labels = {code: layer.label for code, layer in parsed.regions.items() if layer.label}
    return EligibilityRules(rule_layers, labels, source, facts.parents if facts else None, benefits=benefits)


# the rules files (eligibility.yml, funeral.yml) are read the same way: ``build(data, source,
# problems, facts)`` validates and builds, these two raise the first problem as a RulesError


def validated(build: Callable, data: Any, source: str, facts: Optional[CatalogueFacts] = None):
    problems: List[str] = []
    rules = build(data, source, problems, facts)
    if rules is None:
        raise RulesError.first(problems)
    return rules


def loaded(build: Callable, path: Union[str, Path]):
    """The rules file at ``path``, with the catalogue facts of the content directory it sits in."""
    from .catalog.loader import catalogue_facts

    problems: List[str] = []
    data = _read_yaml(Path(path), str(path), problems)
    if data is None:
        raise RulesError.first(problems)
    return validated(build, data, str(path), catalogue_facts(Path(path).parent.parent))


# --------------------------------------------------------------------------- regions

Parents = Union[Callable[[str], Sequence[str]], Mapping[str, Any], None]


def _hyphen_parent(code: str) -> Optional[str]:
    return code.rsplit("-", 1)[0] if "-" in code else None


def region_chain(code: Optional[str], parents: Parents = None) -> List[str]:
    """The region and its ancestors, most specific first, always ending with ``national``."""
    if not code or code == NATIONAL:
        return [NATIONAL]
    if parents is None:
        chain = layers.chain(code, _hyphen_parent)
    elif callable(parents):
        chain = list(parents(code) or [])
    elif isinstance(parents.get(code), (list, tuple)):
        chain = list(parents[code])
    else:  # child -> parent links
        chain = layers.chain(code, parents)
    if not chain or chain[0] != code:
        chain.insert(0, code)
    return layers.with_national(list(dict.fromkeys(c for c in chain if c)))


# --------------------------------------------------------------------------- profile and answers


@dataclass(frozen=True)
class ElderProfile:
    age: int
    region_code: Optional[str] = None
    local_hukou: Optional[bool] = None  # 户籍 in the region (the rule's hukou_label says which)
    economic: Optional[str] = None  # dibao, tekun, low_income, none
    care_level: Optional[str] = None  # intact, mild, moderate, severe, total
    care_level_assessed: bool = False  # True when the level comes from an official 老年人能力评估
    # 残疾人证 grade 1-4, 0 = no 残疾人证, None = not asked: then the disability benefits are left out
    disability_level: Optional[int] = None

    def __post_init__(self):
        if isinstance(self.age, bool) or not isinstance(self.age, int) or not 0 <= self.age <= 130:
            raise ValueError(f"age must be a whole number of years between 0 and 130, got {self.age!r}")
        if self.economic is not None and self.economic not in ECONOMIC:
            raise ValueError(f"economic must be one of {ECONOMIC} or None, got {self.economic!r}")
        if self.care_level is not None and self.care_level not in CARE_LEVELS:
            raise ValueError(f"care_level must be one of {CARE_LEVELS} or None, got {self.care_level!r}")
        if self.disability_level is not None and (isinstance(self.disability_level, bool)
                                                  or self.disability_level not in range(5)):
            raise ValueError(f"disability_level must be 0-4 or None, got {self.disability_level!r}")


# --------------------------------------------------------------------------- results


class Status(str, Enum):
    ELIGIBLE = "eligible"
    LIKELY = "likely"
    NOT_ELIGIBLE = "not_eligible"
    UNKNOWN = "unknown"


STATUS_LABELS = {
    Status.ELIGIBLE: "符合",
    Status.LIKELY: "可能符合",
    Status.NOT_ELIGIBLE: "不符合",
    Status.UNKNOWN: "还不能确定",
}


@dataclass
class BenefitResult:
    code: str
    name: str
    status: Status
    monthly: Optional[int] = None
    amount_text: Optional[str] = None
    reason: str = ""
    unmet: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)  # keys of QUESTIONS / MISSING_TEXT
    how_to_apply: str = ""
    automatic: bool = False
    needs_assessment: bool = False
    sample: bool = False
    unverified: bool = False
    typical: bool = False  # common local practice, not a binding rule: nothing to cite
    rule_region: str = NATIONAL
    source: str = ""
    notes: List[str] = field(default_factory=list)
    hukou_label: str = ""  # the 户籍 the rule asks about, e.g. 杭州市户籍

    @property
    def granted(self) -> bool:
        return self.status in (Status.ELIGIBLE, Status.LIKELY)

    @property
    def amount(self) -> str:
        if self.monthly is not None:
            return f"每月{self.monthly}元"
        return self.amount_text or ""

    @property
    def missing_text(self) -> List[str]:
        return [MISSING_TEXT[m] for m in self.missing]


@dataclass
class EligibilityResult:
    profile: ElderProfile
    chain: List[str]
    region_label: str
    benefits: List[BenefitResult]

    def benefit(self, code: str) -> BenefitResult:
        for b in self.benefits:
            if b.code == code:
                return b
        raise KeyError(code)

    @property
    def region_needed(self) -> bool:
        return self.profile.region_code is None

    @property
    def missing(self) -> List[str]:
        found = {m for b in self.benefits if b.status is Status.UNKNOWN for m in b.missing}
        if self.region_needed:
            found.add("region")
        return [m for m in _MISSING_ORDER if m in found]

    @property
    def questions(self) -> List[str]:
        label = next((b.hukou_label for b in self.benefits if "local_hukou" in b.missing and b.hukou_label), "当地户籍")
        return [QUESTIONS[m].format(hukou_label=label) for m in self.missing if m in QUESTIONS]

    def next_question(self) -> Optional[str]:
        qs = self.questions
        return qs[0] if qs else None

    @property
    def granted(self) -> List[BenefitResult]:
        return [b for b in self.benefits if b.granted]

    @property
    def sample_data(self) -> bool:
        return any(b.sample for b in self.benefits)

    @property
    def unverified(self) -> bool:
        return any(b.unverified and b.status is not Status.NOT_ELIGIBLE for b in self.benefits)

    @property
    def needs_assessment(self) -> bool:
        return any(b.needs_assessment for b in self.benefits) or (
            self.profile.care_level is None and any("care_level" in b.missing for b in self.benefits)
        )


# --------------------------------------------------------------------------- the check


def _date_text(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _evaluate(benefit: Benefit, rule: ResolvedRule, p: ElderProfile, label: str, today: dt.date) -> BenefitResult:
    r = rule.fields
    res = BenefitResult(
        code=benefit.code, name=benefit.name, status=Status.UNKNOWN,
        how_to_apply=r["apply"], automatic=bool(r.get("automatic")), sample=rule.sample,
        unverified=bool(r.get("unverified")), typical=bool(r.get("typical")), rule_region=rule.region,
        source=r.get("source", ""),
        notes=list(r.get("notes", [])),
    )
    unmet: List[str] = []
    missing: List[str] = []
    pieces: List[str] = []

    valid_from = r.get("valid_from")
    if valid_from and today < valid_from:
        unmet.append(f"这项政策从{_date_text(valid_from)}起实施")

    min_age = r["min_age"]
    if p.age < min_age:
        unmet.append(f"要年满{min_age}周岁，老人现在{p.age}周岁，还差{min_age - p.age}年")

    if r.get("requires_local_hukou"):
        hukou_label = res.hukou_label = r.get("hukou_label", "当地户籍")
        if p.region_code is None:
            missing.append("region")  # "local" means nothing until we know the region
        elif p.local_hukou is None:
            missing.append("local_hukou")
        elif not p.local_hukou:
            unmet.append(r.get("non_local_note") or f"这项补贴要求{hukou_label}，老人不是{hukou_label}")
        else:
            pieces.append(hukou_label)

    economic = r.get("economic")
    if economic:
        if p.economic is None:
            missing.append("economic")
        elif p.economic not in economic:
            wanted = "、".join(ECONOMIC_LABELS[e] for e in economic)
            unmet.append(f"这项面向{wanted}老人，老人家里{ECONOMIC_STATE[p.economic]}")
        else:
            pieces.append(f"{ECONOMIC_LABELS[p.economic]}老人")

    levels = r.get("disability_levels")
    if levels:  # only checked when the caller knows (check() leaves the benefit out otherwise)
        wanted = "、".join(GRADE_LABELS[g] for g in levels)
        if not p.disability_level:
            unmet.append(f"要持有残疾人证、残疾等级为{wanted}，老人没有残疾人证"
                         "（残疾人证向户籍所在地的县级残联申请评定）")
        elif p.disability_level not in levels:
            unmet.append(f"要残疾等级为{wanted}，老人是{GRADE_LABELS[p.disability_level]}残疾")
        else:
            pieces.append(f"{GRADE_LABELS[p.disability_level]}残疾")

    # covered elsewhere (养老服务消费补贴 is not for 特困人员, whose care the 供养 pays):
    # refused when the situation is excluded, never granted while it is unknown
    excluded = r.get("excluded_economic")
    if excluded:
        if p.economic in excluded:
            unmet.append(r.get("excluded_note") or f"老人{ECONOMIC_STATE[p.economic]}，不在这项补贴的范围内")
        elif p.economic is None and "economic" not in missing:
            missing.append("economic")

    age_piece = f"年满{min_age}周岁"
    care_piece = None
    care_levels = r.get("care_levels")
    waived_from = r.get("care_not_needed_from_age")
    if care_levels:
        if waived_from is not None and p.age >= waived_from:
            age_piece = f"年满{waived_from}周岁"
        elif p.care_level is None:
            missing.append("care_level")
        elif p.care_level not in care_levels:
            wanted = "、".join(CARE_LABELS[c] for c in care_levels)
            text = f"要经评估为{wanted}，老人目前是{CARE_LABELS[p.care_level]}"
            if waived_from is not None:
                text += f"（年满{waived_from}周岁的不要求失能）"
            unmet.append(text)
        else:
            care_piece = CARE_LABELS[p.care_level]
            res.needs_assessment = not p.care_level_assessed
    if p.age >= min_age and min_age:  # no age piece for a benefit without an age limit
        pieces.append(age_piece)
    if care_piece:
        pieces.append(care_piece + ("" if p.care_level_assessed else "（按您的描述，需经评估确认）"))

    band = None
    bands: List[Band] = r.get("bands") or []
    if bands and p.age >= min_age:
        band = next((b for b in bands if b.matches(p.age)), None)
        if band is None:
            unmet.append(f"老人{p.age}周岁，不在发放的年龄段内")

    if unmet:
        res.status = Status.NOT_ELIGIBLE
        res.unmet = unmet
        res.reason = "；".join(u.rstrip("。") for u in unmet) + "。"
        if r.get("not_eligible_note"):
            res.reason += r["not_eligible_note"]
        res.needs_assessment = False
        return res

    if r.get("local_only") and not missing:
        missing.append("region" if p.region_code is None else "local_rules")
    if missing:
        res.status = Status.UNKNOWN
        res.missing = list(dict.fromkeys(missing))
        res.reason = "还需要知道" + "、".join(res.missing_text) + "。"
        if r.get("local_only"):
            res.amount_text = r.get("amount_text")
            res.reason += r.get("amount_text", "").rstrip("。") + "。"
        res.needs_assessment = False
        return res

    if band is not None:
        res.monthly = band.monthly
        res.amount_text = band.amount_text
    else:
        res.amount_text = r.get("amount_text")
    reason = "、".join(pieces)
    if band is not None:
        reason += f"：{band.label}{band.amount}"
    if rule.region != NATIONAL:
        reason += f"（{label}标准）"
    care_unsure = bool(r.get("long_term_care")) and p.care_level in (None, "intact", "mild")
    res.status = Status.LIKELY if (r.get("typical") or res.needs_assessment or care_unsure) else Status.ELIGIBLE
    if r.get("typical"):
        reason += "。这是多数地方的做法，以当地规定为准"
    if care_unsure:
        said = {"intact": "能自理", "mild": "基本能自理"}.get(p.care_level or "")
        reason += ("。护理补贴还要经当地认定需要长期照护" +
                   (f"；您说老人生活{said}，能否领取请向户籍所在街道（乡镇）咨询" if said else ""))
    res.reason = reason + "。"
    return res


def check(
    profile: ElderProfile,
    rules: Optional[EligibilityRules] = None,
    parents: Parents = None,
    today: Optional[dt.date] = None,
) -> EligibilityResult:
    """Check every benefit for the elder; rules default to ``bot/content/rules/eligibility.yml``."""
    rules = rules or load_rules()
    today = today or dt.date.today()
    chain = region_chain(profile.region_code, parents if parents is not None else rules.parents)
    label = next((rules.label(c) for c in chain if c in rules.labels and c != NATIONAL), None)
    region_label = label or (profile.region_code or "")
    results = []
    for benefit in rules.benefits:
        rule = rules.resolve(benefit.code, chain)
        if rule.fields.get("disability_levels") and profile.disability_level is None:
            continue  # the disability benefits only when the caller has asked about a 残疾人证
        results.append(_evaluate(benefit, rule, profile, rules.label(rule.region), today))
    return EligibilityResult(profile, chain, region_label, results)


def disability_benefits(rules: EligibilityRules, chain: Sequence[str] = (NATIONAL,)) -> List[Benefit]:
    """The benefits that depend on a 残疾人证 grade (a ``disability_levels`` rule) in the
    region chain: what the question about the certificate can matter for."""
    return [b for b in rules.benefits if rules.resolve(b.code, chain).fields.get("disability_levels")]


def disability_conditions(rules: EligibilityRules, chain: Sequence[str] = (NATIONAL,)) -> List[str]:
    """What each of those benefits asks, in the rules' own terms: "困难残疾人生活补贴要求
    残疾等级为一级、二级、三级、四级，并且是低保家庭"."""
    out = []
    for b in disability_benefits(rules, chain):
        r = rules.resolve(b.code, chain).fields
        text = f"{b.name}要求残疾等级为" + "、".join(GRADE_LABELS[g] for g in r["disability_levels"])
        if r.get("economic"):
            text += "，并且是" + "、".join(ECONOMIC_LABELS[e] for e in r["economic"]) + "家庭"
        out.append(text)
    return out


# --------------------------------------------------------------------------- text


_MARKS = {
    Status.ELIGIBLE: "【符合】",
    Status.LIKELY: "【可能符合】",
    Status.NOT_ELIGIBLE: "【不符合】",
    Status.UNKNOWN: "【待确认】",
}


_NOT_BINDING = re.compile(r"(各地|公开报道|据.{0,12}报道)")


def binding_source(source: str) -> str:
    """The parts of a rule's ``source`` that name a document ("老年人权益保障法第30条"),
    without those that do not ("各地居家适老化改造政策", "据公开报道…")."""
    parts = [p.strip() for p in re.split(r"[；;]", source or "") if p.strip()]
    return "；".join(p for p in parts if not _NOT_BINDING.search(p))


def render_text(result: EligibilityResult) -> str:
    """A short plain-text Chinese answer: each benefit, what is missing, how to apply, the
    legal basis of the benefits granted, notes."""
    p = result.profile
    where = f"{result.region_label}，" if result.region_label else ""
    lines = [f"养老补贴测算（{where}老人{p.age}周岁）"]
    if result.region_needed:
        lines.append("您还没告诉我老人住在哪里，下面先按全国的一般规定测算；告诉我城市后，可以按当地标准再算一次。")
    order = (Status.ELIGIBLE, Status.LIKELY, Status.UNKNOWN, Status.NOT_ELIGIBLE)
    for status in order:
        for b in result.benefits:
            if b.status is not status:
                continue
            head = f"{_MARKS[b.status]}{b.name}"
            if b.granted and b.amount:
                head += f"：{b.amount.rstrip('。')}"
            if b.sample:
                head += "（示例数据）"
            if b.automatic and b.granted:
                head += "，不用申请，自动发放"
            lines.append(f"{head}。{b.reason}")

    # a heading only with lines under it
    questions = [q for q in result.questions if q and q.strip()]
    if questions or result.needs_assessment:
        lines.append("")
        lines.append("还需要了解：")
        lines.extend(f"· {q}" for q in questions)
        if result.needs_assessment:
            lines.append(f"· {ASSESSMENT_ADVICE}")

    to_apply = [b for b in result.benefits if b.granted and (b.how_to_apply or "").strip()]
    if to_apply:
        lines.append("")
        lines.append("怎么办理：")
        lines.extend(f"· {b.name}：{b.how_to_apply}" for b in to_apply)

    # the legal basis of what the elder can get: binding documents only (sample figures have
    # none yet, SAMPLE_NOTE says so; a press report or "各地…" is no basis)
    basis = [(b.name, binding_source(b.source)) for b in result.benefits if b.granted and not b.sample]
    basis = [(name, source) for name, source in basis if source]
    if basis:
        lines.append("")
        lines.append("政策依据：")
        lines.extend(f"· {name}：{source}" for name, source in basis)

    notes = [n for b in result.benefits if b.granted or b.status is Status.UNKNOWN for n in b.notes]
    if result.sample_data:
        notes.append(SAMPLE_NOTE)
    shown_unverified = any(b.unverified and b.notes for b in result.benefits if b.status is not Status.NOT_ELIGIBLE)
    if result.unverified and not shown_unverified:
        notes.append(UNVERIFIED_NOTE)
    if notes:
        lines.append("")
        lines.extend(dict.fromkeys(notes))
    return "\n".join(lines).strip()
