"""Pre-check before a marriage registration appointment.

National rules only (they are the same everywhere):
- legal marriage age: men 22, women 20 full years (民法典 第1047条);
- under the revised 婚姻登记条例 (国务院令第804号, from 2025-05-10): both come in
  person, each with their own 居民身份证 and a signed statement of having no spouse
  and no prohibited blood relationship; no 户口簿 is needed and any registration
  office in the country will do; no fee;
- a declared "divorced" or "widowed" status that the records do not show needs proof
  (离婚证 or the court's judgment; the late spouse's death certificate and 结婚证).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import List, Optional

MIN_AGE = {"male": 22, "female": 20}
LEGAL_BASIS = "《民法典》第1047条；《婚姻登记条例》（国务院令第804号，2025年5月10日起施行）"


@dataclass(frozen=True)
class Party:
    sex: str  # male | female
    birth_date: Optional[date] = None
    age: Optional[int] = None  # full years, when no birth date is given
    previous: str = "never"  # never | divorced | widowed


@dataclass
class PrecheckResult:
    ok: bool
    problems: List[str] = field(default_factory=list)
    materials: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    earliest_date: Optional[date] = None  # when both reach the legal age, if later than today


def full_years(birth: date, on: date) -> int:
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def birthday_at(birth: date, age: int) -> date:
    """The day ``birth`` turns ``age``; 29 February counts from 1 March in common years."""
    year = birth.year + age
    try:
        return birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def precheck(a: Party, b: Party, on: date) -> PrecheckResult:
    res = PrecheckResult(ok=True)
    labels = {"male": "男方", "female": "女方"}
    for p in (a, b):
        if p.sex not in MIN_AGE:
            raise ValueError(f"sex must be male or female, got {p.sex!r}")
    if a.sex == b.sex:
        res.ok = False
        res.problems.append("按照《民法典》，结婚登记须由一男一女双方共同办理。")
    for p in (a, b):
        who, minimum = labels[p.sex], MIN_AGE[p.sex]
        if p.birth_date is not None:
            age = full_years(p.birth_date, on)
            if age < minimum:
                res.ok = False
                reach = birthday_at(p.birth_date, minimum)
                res.problems.append(f"{who}目前{age}周岁，未达到法定婚龄{minimum}周岁，"
                                    f"{reach.year}年{reach.month}月{reach.day}日起可以登记。")
                res.earliest_date = max(res.earliest_date or reach, reach)
        elif p.age is not None:
            if p.age < minimum:
                res.ok = False
                res.problems.append(f"{who}{p.age}周岁，未达到法定婚龄{minimum}周岁（男22周岁、女20周岁）。")
        else:
            res.notes.append(f"请确认{who}已满{minimum}周岁（以身份证上的出生日期计算周岁）。")
    res.materials = [
        "双方本人的居民身份证（有效期内的原件）",
        "双方各自签署的声明：本人无配偶，且与对方没有直系血亲和三代以内旁系血亲关系（在登记处现场签署）",
    ]
    for p in (a, b):
        who = labels[p.sex]
        if p.previous == "divorced":
            res.materials.append(f"{who}：离婚证或人民法院的离婚判决书、调解书（如登记系统中的婚姻状况与申报不一致时需要）")
        elif p.previous == "widowed":
            res.materials.append(f"{who}：原配偶的《居民死亡医学证明》（2026年7月1日前开具的为《居民死亡医学证明（推断）书》）和原结婚证（如登记系统中的婚姻状况与申报不一致时需要）")
    res.notes.append("2025年5月10日起，办理结婚登记不再需要户口簿，可以在全国任一婚姻登记机关办理，不收取费用。")
    res.notes.append("双方须本人亲自到场，不能委托他人代办。")
    return res
