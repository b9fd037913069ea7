"""Parse an elder's age from free text: "85", "八十五岁", "85周岁了", "1940年出生"."""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional, Tuple

import cn2an

from .normalize import normalize

_CN_NUM = "零〇一二两三四五六七八九十百"
_AGE = re.compile(rf"([0-9]{{1,3}}|[{_CN_NUM}]{{1,6}})\s*(?:多)?\s*(?:周岁|岁|週歲|歲)")
_BIRTH = re.compile(r"((?:19|20)[0-9]{2})\s*年?\s*(?:出生|生人|生的|出世)")
_BIRTH_CN = re.compile(rf"([{_CN_NUM}]{{4}})\s*年\s*(?:出生|生人|生的)")
_STATED = re.compile(rf"(?:今年|已经|已|都|快|满)\s*([0-9]{{2,3}}|[{_CN_NUM}]{{2,6}})\s*(?:多)?\s*(?:了|岁|周岁)?")
_BARE = re.compile(rf"^\s*([0-9]{{2,3}}|[{_CN_NUM}]{{2,6}})\s*(?:了)?\s*$")


def number(token: str) -> Optional[int]:
    """A whole number written in digits ("85") or Chinese numerals ("八十五", "两", "一〇一");
    None when it is not one."""
    if token.isdigit():
        return int(token)
    try:
        value = cn2an.cn2an(token.replace("两", "二"), "smart")
    except (ValueError, KeyError, IndexError):
        return None
    return int(value) if value is not None else None


def _digits_year(token: str) -> Optional[int]:
    # 一九四〇 is read digit by digit
    table = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")}
    table["零"] = "0"
    digits = "".join(table.get(c, "") for c in token)
    return int(digits) if len(digits) == 4 else None


def find_age(text: str, today: Optional[dt.date] = None) -> Optional[Tuple[int, int, int]]:
    """(start, end, age) of the first plausible age stated in the (normalised) text, else None."""
    if not text:
        return None
    today = today or dt.date.today()
    m = _BIRTH.search(text)
    if m:
        age = today.year - int(m.group(1))
        return (m.start(), m.end(), age) if 0 <= age <= 130 else None
    m = _BIRTH_CN.search(text)
    if m:
        year = _digits_year(m.group(1))
        if year:
            age = today.year - year
            return (m.start(), m.end(), age) if 0 <= age <= 130 else None
    for m in _AGE.finditer(text):
        value = number(m.group(1))
        if value is not None and 0 < value <= 130:
            return m.start(), m.end(), value
    for m in _STATED.finditer(text):
        value = number(m.group(1))
        if value is not None and 40 <= value <= 130:
            end = m.end() - 1 if text[m.end() - 1] == "了" else m.end()
            return m.start(1), end, value
    m = _BARE.match(text)
    if m:
        value = number(m.group(1))
        if value is not None and 40 <= value <= 130:
            return m.start(1), m.end(1), value
    return None


def parse_age(text: str, today: Optional[dt.date] = None) -> Optional[int]:
    """Return the age in whole years, or None if the text states no plausible age."""
    found = find_age(normalize(text), today) if text else None
    return found[2] if found else None
