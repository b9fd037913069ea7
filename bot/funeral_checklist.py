"""身后事"一件事": a personal, ordered checklist for the family, pure domain logic.

``build(case, rules)`` turns a few answers (where the death happened, natural or
not, region, 户籍, pension type, hardship) into ordered steps across agencies —
death certificate, police where needed, funeral home, 户口注销, cremation with the
local fee waiver, hardship assistance, 社保 and the bank — each with where to go,
what to bring, the time limit and the money involved. ``Checklist`` keeps the
progress ("第2步办好了", "下一步"); ``render_text`` is the Chinese answer.

The rules live in ``bot/content/rules/funeral.yml`` (national layer plus local
overrides, merged by :func:`bot.catalog.layers.merge` like guides and the eligibility
rules; shape in ``bot.catalog.rules_schema``).
``local_hukou`` answers the question the applicable fee-waiver rule asks: for
Hangzhou, whether the deceased had a Zhejiang 户籍.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from .ages import number as chinese_number
from .catalog import layers
from .catalog.layers import NATIONAL
from .catalog.rules_schema import MONEY_KINDS, STEP_KEYS, CatalogueFacts, check_funeral, with_catalogue
from .config import CONTENT_DIR
from .eligibility import Parents, RulesError, loaded, region_chain, validated
from .normalize import compact, first_keyword

__all__ = [
    "MONEY_KINDS", "STEP_KEYS",
    "Checklist", "FuneralCase", "FuneralRules", "Progress", "RulesError", "Step", "build", "funeral_grant",
    "load_rules", "parse_pension", "parse_place", "parse_progress", "render_text", "rules_from_mapping",
]

DEFAULT_RULES_PATH = CONTENT_DIR / "rules" / "funeral.yml"

PLACES = ("hospital", "home", "care_home", "elsewhere")
PENSIONS = ("employee", "resident", "none")

CONDOLENCE = "家人离世，请您节哀。下面是需要办理的事项，按顺序一件一件办就好。"
SAMPLE_NOTE = "提示：标有“示例数据”的内容尚未核实，办理前请向当地殡仪馆、民政部门或拨打12345确认。"

QUESTIONS = {
    "region": "逝者是在哪个城市去世的？告诉我市或区县的名字就行。",
    "natural": "是因病等正常原因去世的吗？如果是意外事故等非正常死亡，请先报警。",
    "local_hukou": "逝者是{hukou_label}吗？",
    "pension": "逝者参加的是职工养老保险（单位或个人缴费、退休领养老金），还是城乡居民养老保险，还是都没有？",
    "low_income": "家里是低保、特困等困难家庭吗？",
}
_MISSING_ORDER = ("region", "natural", "local_hukou", "pension", "low_income")


# --------------------------------------------------------------------------- rules


@dataclass
class FuneralRules(layers.LayeredRules):
    def step(self, key: str, chain: List[str]) -> Dict[str, Any]:
        return self.merged(chain, lambda layer: layer.get("steps", {}).get(key)).fields

    def section(self, name: str, chain: List[str]) -> tuple:
        """The most specific layer's section ``name`` and the region it came from."""
        value, code = layers.first(chain, {c: layer.get(name) for c, layer in self.layers.items()})
        return value, code or NATIONAL


def _layer(parsed) -> Dict[str, Any]:
    out: Dict[str, Any] = {"steps": {key: step.layer() for key, step in parsed.steps.items()}}
    if parsed.notes is not None:
        out["notes"] = list(parsed.notes)
    for name in ("fee_waiver", "social_security"):
        value = getattr(parsed, name)
        if value is not None:
            out[name] = value.dict(exclude_none=True)
    return out


def build_rules(data: Any, source: str, problems: List[str],
                facts: Optional[CatalogueFacts] = None) -> Optional[FuneralRules]:
    """Validate the rules mapping (``bot.catalog.rules_schema.FuneralFile``), collecting problems."""
    parsed = check_funeral(with_catalogue(data, facts), source, problems, facts.names if facts else None)
    if parsed is None:
        return None
    labels = {code: layer.label for code, layer in parsed.regions.items() if layer.label}
    return FuneralRules({code: _layer(layer) for code, layer in parsed.regions.items()}, labels, source,
                        facts.parents if facts else None)


def rules_from_mapping(data: Any, source: str = "<rules>", facts: Optional[CatalogueFacts] = None) -> FuneralRules:
    """Validate already-parsed rules data (the YAML structure) and build the rules."""
    return validated(build_rules, data, source, facts)


def load_rules(path: Union[str, Path] = DEFAULT_RULES_PATH) -> FuneralRules:
    """Read and validate ``funeral.yml``; raises :class:`RulesError` naming the file and field."""
    return loaded(build_rules, path)


# --------------------------------------------------------------------------- case and checklist


@dataclass(frozen=True)
class FuneralCase:
    place: str  # hospital, home, care_home, elsewhere
    natural: Optional[bool] = None
    region_code: Optional[str] = None
    local_hukou: Optional[bool] = None  # the 户籍 the local fee-waiver rule asks about
    pension: Optional[str] = None  # employee, resident, none
    low_income: Optional[bool] = None

    def __post_init__(self):
        if self.place not in PLACES:
            raise ValueError(f"place must be one of {PLACES}, got {self.place!r}")
        if self.pension is not None and self.pension not in PENSIONS:
            raise ValueError(f"pension must be one of {PENSIONS} or None, got {self.pension!r}")


@dataclass
class Step:
    no: int
    key: str
    title: str
    where: str
    bring: List[str]
    time_limit: str
    money: str = ""
    money_kind: Optional[str] = None  # receive, waived, pay, maybe
    notes: List[str] = field(default_factory=list)
    source: str = ""
    sample: bool = False
    done: bool = False


@dataclass
class Checklist:
    case: FuneralCase
    steps: List[Step]
    notes: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    region_label: str = ""
    hukou_label: str = ""

    def step(self, no: int) -> Step:
        if isinstance(no, bool) or not isinstance(no, int) or not 1 <= no <= len(self.steps):
            raise ValueError(f"no step {no!r}; steps are numbered 1 to {len(self.steps)}")
        return self.steps[no - 1]

    def mark_done(self, no: int) -> Step:
        step = self.step(no)
        step.done = True
        return step

    def mark_undone(self, no: int) -> Step:
        step = self.step(no)
        step.done = False
        return step

    def next_step(self) -> Optional[Step]:
        return next((s for s in self.steps if not s.done), None)

    @property
    def finished(self) -> bool:
        return all(s.done for s in self.steps)

    @property
    def sample_data(self) -> bool:
        return any(s.sample for s in self.steps)

    @property
    def region_needed(self) -> bool:
        return self.case.region_code is None

    @property
    def questions(self) -> List[str]:
        return [QUESTIONS[m].format(hukou_label=self.hukou_label or "当地户籍") for m in self.missing]

    def apply(self, progress: Progress) -> Optional[Step]:
        """Apply a parsed progress message; returns the step to show next (None when all done)."""
        if progress.action == "done":
            if progress.step is not None:
                self.mark_done(progress.step)
            else:
                current = self.next_step()
                if current is not None:
                    current.done = True
            return self.next_step()
        if progress.action == "show" and progress.step is not None:
            return self.step(progress.step)
        return self.next_step()

    def handle(self, text: str) -> Optional[Step]:
        """Parse and apply a citizen's message; None if it is not about progress or all is done."""
        progress = parse_progress(text)
        if progress is None:
            return None
        try:
            return self.apply(progress)
        except ValueError:  # a step number the checklist does not have
            return None


def funeral_grant(income_base_monthly: int) -> int:
    """丧葬补助金 (人社部发〔2021〕18号): twice the province's previous-year monthly
    urban per-capita disposable income."""
    if isinstance(income_base_monthly, bool) or not isinstance(income_base_monthly, int) or income_base_monthly <= 0:
        raise ValueError("income_base_monthly must be a positive whole number of yuan")
    return 2 * income_base_monthly


def _make_step(rules: FuneralRules, key: str, chain: List[str]) -> Step:
    s = rules.step(key, chain)
    return Step(
        no=0, key=key, title=s["title"], where=s["where"], bring=list(s["bring"]), time_limit=s["time_limit"],
        money=s.get("money", ""), money_kind=s.get("money_kind"), notes=list(s.get("notes", [])),
        source=s.get("source", ""), sample=s["sample"],
    )


def _fee_waiver(rules: FuneralRules, chain: List[str], today: dt.date) -> tuple:
    """The most specific fee waiver already in force, and the region it belongs to."""
    for code in chain:
        waiver = rules.layers.get(code, {}).get("fee_waiver")
        if waiver is not None and not (waiver.get("valid_from") and today < waiver["valid_from"]):
            return waiver, code
    return rules.layers[NATIONAL]["fee_waiver"], NATIONAL


def _apply_fee_waiver(step: Step, case: FuneralCase, rules: FuneralRules, chain: List[str],
                      today: dt.date, missing: List[str]) -> str:
    waiver, region = _fee_waiver(rules, chain, today)
    label = rules.label(region)
    step.sample = step.sample or waiver.get("sample", False)
    step.source = "；".join(x for x in (step.source, waiver["source"]) if x)
    if waiver["applies_to"] == "hukou":
        hukou_label = waiver["hukou_label"]
        services = "、".join(waiver["services"])
        if case.local_hukou is True:
            step.money = f"逝者是{hukou_label}，{label}免费提供{services}这{_count(waiver['services'])}项基本殡葬服务。"
            step.money_kind = "waived"
            proof = f"逝者的居民身份证或户口簿（用于核实{hukou_label}）"
            step.bring = [proof if b == "逝者的居民身份证或户口簿" else b for b in step.bring]
            if proof not in step.bring:
                step.bring.append(proof)
        elif case.local_hukou is False:
            step.money = (f"{label}的{services}免费政策只面向{hukou_label}的逝者，逝者不是{hukou_label}，"
                          "这些服务按殡仪馆公示价格收费。")
            step.money_kind = "pay"
        else:
            step.money = f"逝者是{hukou_label}的，{label}免费提供{services}；不是的，按殡仪馆公示价格收费。"
            step.money_kind = "maybe"
            missing.append("local_hukou")
        step.notes.insert(0, waiver["text"])
        return hukou_label
    step.money = waiver["text"]
    step.money_kind = "maybe"
    if case.low_income and waiver.get("low_income_text"):
        step.money += waiver["low_income_text"]
    return ""


_CN_COUNT = "零一二三四五六七八九十"


def _count(items: List[str]) -> str:
    n = len(items)
    return _CN_COUNT[n] if n <= 10 else str(n)


def build(case: FuneralCase, rules: Optional[FuneralRules] = None, parents: Parents = None,
          today: Optional[dt.date] = None) -> Checklist:
    """The family's ordered checklist; rules default to ``bot/content/rules/funeral.yml``."""
    rules = rules or load_rules()
    today = today or dt.date.today()
    chain = region_chain(case.region_code, parents if parents is not None else rules.parents)
    missing: List[str] = []
    if case.region_code is None:
        missing.append("region")

    keys: List[str] = []
    if case.natural is False:
        keys += ["police", "certificate_unnatural"]
    else:
        if case.natural is None:
            missing.append("natural")
        keys.append("certificate_hospital" if case.place == "hospital" else "certificate_community")
    keys += ["transport", "hukou", "cremation", "burial"]
    if case.low_income:
        keys.append("assistance")
    elif case.low_income is None:
        missing.append("low_income")
    if case.pension == "employee":
        keys.append("pension_employee")
    elif case.pension == "resident":
        keys.append("pension_resident")
    elif case.pension is None:
        keys.append("pension_unknown")
        missing.append("pension")
    keys.append("bank")

    steps: List[Step] = []
    hukou_label = ""
    waiver, _ = _fee_waiver(rules, chain, today)
    for no, key in enumerate(keys, start=1):
        step = _make_step(rules, key, chain)
        step.no = no
        if key == "certificate_community" and case.natural is None:
            step.notes.insert(0, "如果是意外事故、案件等非正常死亡，请先拨打110报警，由公安机关处理后再开证明。")
        if key == "transport" and waiver["applies_to"] == "hukou" and case.local_hukou:
            step.notes.insert(0, f"联系殡仪馆时说明逝者是{waiver['hukou_label']}，"
                                 "基本殡葬服务可以免费，详见火化那一步。")
        if key == "cremation":
            hukou_label = _apply_fee_waiver(step, case, rules, chain, today, missing)
        if key == "pension_employee":
            social, region = rules.section("social_security", chain)
            if social:
                base = social["income_base_monthly"]
                step.money += (f"按{social['income_base_label']}{social['income_base_year']}年每月{base}元计算，"
                               f"丧葬补助金为{funeral_grant(base)}元。")
                step.sample = step.sample or social["sample"]
        steps.append(step)

    notes_value, _ = rules.section("notes", chain)
    region_label = next((rules.label(c) for c in chain if c != NATIONAL and c in rules.labels), "")
    order = {m: i for i, m in enumerate(_MISSING_ORDER)}
    missing = sorted(dict.fromkeys(missing), key=order.__getitem__)
    return Checklist(case, steps, list(notes_value or []), missing, region_label, hukou_label)


# --------------------------------------------------------------------------- progress messages


@dataclass(frozen=True)
class Progress:
    action: str  # done, next, show
    step: Optional[int] = None


_NUM = r"([0-9]{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_STEP_NO = re.compile(rf"(?:第\s*{_NUM}\s*(?:步|项|件|个|条)?|步骤\s*{_NUM})")
_DONE = re.compile(r"(办好|办完|办妥|办了|完成|搞定|弄好|弄完|做完|处理好|处理完|结束了|好了|已办)")
_NOT_DONE = re.compile(r"(没|未|还没|尚未|没有)\s*(有)?\s*(办|完成|弄|做|处理|搞|好)")
_NEXT = re.compile(r"(下一步|下一项|接下来|然后呢|然后做什么|还要办什么|还要做什么|接着办|往下)")


def parse_progress(text: str) -> Optional[Progress]:
    """"第2步办好了" → done 2; "第二步完成了" → done 2; "办好了" → done (current);
    "下一步" → next; "第3步怎么办" / "第3步还没办好" → show 3; anything else → None."""
    text = compact(text)
    if not text:
        return None
    m = _STEP_NO.search(text)
    number = None
    if m:
        number = chinese_number(m.group(1) or m.group(2))
        if number is None or number < 1:
            number = None
    rest = _STEP_NO.sub("", text) if m else text
    not_done = bool(_NOT_DONE.search(rest))
    done = bool(_DONE.search(rest)) and not not_done
    if done:
        return Progress("done", number)
    if number is not None:
        return Progress("show", number)
    if _NEXT.search(text):
        return Progress("next")
    return None


# --------------------------------------------------------------------------- answers

_PLACES = (
    ("care_home", ("养老院", "敬老院", "养老机构", "福利院", "护理院", "养老中心")),
    ("hospital", ("医院", "卫生院", "住院", "icu", "ICU", "抢救")),
    ("home", ("家里", "在家", "家中", "自己家", "老家")),
)
_PENSIONS = (
    ("resident", ("城乡居民", "居民养老", "新农保", "农村养老", "城居保", "居民社保")),
    ("none", ("没交", "没有交", "没参加", "没有参加", "没买", "没有社保", "没社保", "没有养老", "都没有")),
    ("employee", ("职工", "退休", "单位", "企业", "机关", "事业", "养老金", "退休金", "交社保", "有社保")),
)


def parse_place(text: str) -> Optional[str]:
    """"在医院走的" → hospital, "在家里" → home, "养老院" → care_home, "路上/外地" → elsewhere."""
    text = compact(text)
    if not text:
        return None
    code = first_keyword(text, _PLACES)
    if code:
        return code
    if re.search(r"(路上|外面|外地|单位|车上|其他地方|别的地方|户外)", text):
        return "elsewhere"
    return None


def parse_pension(text: str) -> Optional[str]:
    """"退休了，领养老金" → employee, "城乡居民养老保险" → resident, "没交过" → none."""
    text = compact(text)
    return first_keyword(text, _PENSIONS) if text else None


# --------------------------------------------------------------------------- text


_MONEY_PREFIX = {"receive": "可以领取", "waived": "费用减免", "pay": "费用", "maybe": "费用和待遇"}


def step_text(step: Step) -> List[str]:
    """The lines of one step: title, where, what to bring, time limit, money, notes."""
    head = f"第{step.no}步：{step.title}"
    if step.done:
        head += "（已办好）"
    if step.sample:
        head += "（示例数据）"
    lines = [head]
    if step.done:
        return lines
    lines.append(f"  去哪办：{step.where}")
    lines.append(f"  带什么：{'；'.join(step.bring)}")
    lines.append(f"  时限：{step.time_limit}")
    if step.money:
        lines.append(f"  {_MONEY_PREFIX.get(step.money_kind or 'maybe', '费用')}：{step.money}")
    lines.extend(f"  注意：{n}" for n in step.notes)
    return lines


def render_text(checklist: Checklist) -> str:
    """Plain-text Chinese checklist: condolence line, steps, open questions, notes."""
    lines = [CONDOLENCE]
    if checklist.region_needed:
        lines.append("还不知道在哪个城市办理，下面按全国通用的流程列出；告诉我城市后，可以补上当地的减免政策。")
    lines.append("")
    for step in checklist.steps:
        lines.extend(step_text(step))
    nxt = checklist.next_step()
    lines.append("")
    if nxt is None:
        lines.append("清单上的事项都办好了。")
    else:
        lines.append(f"接下来办第{nxt.no}步：{nxt.title}。办好一步告诉我“第{nxt.no}步办好了”就行。")
    if checklist.questions:
        lines.append("")
        lines.append("方便的话告诉我：")
        lines.extend(f"· {q}" for q in checklist.questions)
    notes = list(checklist.notes)
    if checklist.sample_data:
        notes.append(SAMPLE_NOTE)
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines).strip()
