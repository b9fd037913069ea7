"""The form answers a handoff carries, as lines for the staff console."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional


from .. import eligibility as elig
from .booking_form import KINDS
from .context import FORMS



_YES_NO = {True: "是", False: "否"}
_PLACE_LABELS = {"hospital": "医院", "home": "家中", "care_home": "养老机构", "elsewhere": "其他地方"}
_PENSION_LABELS = {"employee": "职工养老保险", "resident": "城乡居民养老保险", "none": "未参保"}
_OP_LABELS = {"view": "查看", "cancel": "取消", "reschedule": "改约"}
FORM_TITLES = {cls.name: cls.title for cls in FORMS}


def describe_answers(understood: Dict[str, Any], office_name: Callable[[str], Optional[str]] = lambda c: None
                     ) -> List[str]:
    """The form answers a handoff carries, as "label：value" lines for the staff console."""
    u = understood
    out: List[str] = []
    if u.get("form") in FORM_TITLES:
        out.append(f"转人工时在办：{FORM_TITLES[u['form']]}")
    if u.get("elig_age") is not None:
        out.append(f"老人年龄：{int(u['elig_age'])}岁")
    for key, label in (("elig_hukou", "老人本地户籍"), ("fun_hukou", "逝者本地户籍"), ("fun_natural", "正常死亡")):
        if u.get(key) in _YES_NO:
            out.append(f"{label}：{_YES_NO[u[key]]}")
    if u.get("elig_economic") in elig.ECONOMIC_LABELS:
        out.append(f"经济状况：{elig.ECONOMIC_LABELS[u['elig_economic']]}")
    if u.get("elig_care") in elig.CARE_LABELS:
        out.append(f"失能程度：{elig.CARE_LABELS[u['elig_care']]}")
    grade = u.get("elig_disability")
    if isinstance(grade, (int, float)) and not isinstance(grade, bool) and int(grade) in range(5):
        out.append("残疾人证：" + (elig.GRADE_LABELS[int(grade)] if int(grade) else "没有"))
    if u.get("fun_place") in _PLACE_LABELS:
        out.append(f"去世地点：{_PLACE_LABELS[u['fun_place']]}")
    if u.get("fun_pension") in _PENSION_LABELS:
        out.append(f"养老保险：{_PENSION_LABELS[u['fun_pension']]}")
    if u.get("fun_done"):
        out.append("清单已办：第" + "、".join(str(n) for n in u["fun_done"]) + "步")
    if u.get("book_kind") in KINDS:
        out.append(f"预约业务：{KINDS[u['book_kind']]}")
    if u.get("book_office"):
        out.append(f"登记处：{office_name(u['book_office']) or u['book_office']}")
    if u.get("book_day"):
        out.append(f"预约日期：{u['book_day']} {u.get('book_time') or ''}".rstrip())
    if u.get("mb_op") in _OP_LABELS:
        out.append(f"预约操作：{_OP_LABELS[u['mb_op']]}")
    return out
