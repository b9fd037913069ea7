"""Parsers for the answers the guided forms collect: dates, times, names, phone
numbers, confirmation codes. Pure functions over normalised text."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import List, Optional, Sequence, Tuple, Union

from ..ages import number as chinese_number
from ..booking import CODE_ALPHABET, CODE_LENGTH, normalise_phone
from ..normalize import compact, normalize

_CN = "零〇一二两三四五六七八九十"
_NUM = rf"([0-9]{{1,4}}|[{_CN}]{{1,4}})"
_FULL_DATE = re.compile(r"((?:19|20)?[0-9]{2})\s*[年./\-]\s*([0-9]{1,2})\s*[月./\-]\s*([0-9]{1,2})\s*[日号]?")
_MONTH_DAY = re.compile(rf"{_NUM}\s*月\s*{_NUM}\s*[日号]?")
_ISO = re.compile(r"\b(20[0-9]{2})-([0-9]{2})-([0-9]{2})\b")
_WEEKDAY = re.compile(r"(下+)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_RELATIVE = {"今天": 0, "明天": 1, "后天": 2, "大后天": 3}
_WEEKDAY_NO = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
               "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}


def parse_birth_date(raw: str, today: date) -> Optional[date]:
    """A date of birth: "1998年3月2日", "1998-03-02", "98.3.2", "2001/5/6"."""
    text = compact(raw)
    m = _FULL_DATE.search(text)
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if year < 100:  # two-digit year: the most recent past century
        year += 2000 if 2000 + year <= today.year else 1900
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return born if date(1900, 1, 1) <= born <= today else None


def parse_day(raw: str, today: date) -> Optional[date]:
    """A day to come: "11月27日", "2026-11-27", "明天", "下周三", "周五"."""
    text = compact(raw)
    m = _ISO.search(text) or _FULL_DATE.search(text)
    if m:
        year = int(m.group(1))
        year = year + 2000 if year < 100 else year
        try:
            return date(year, int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    m = _MONTH_DAY.search(text)
    if m:
        month, day = chinese_number(m.group(1)), chinese_number(m.group(2))
        if not month or not day:
            return None
        for year in (today.year, today.year + 1):
            try:
                d = date(year, month, day)
            except ValueError:
                return None
            if d >= today:
                return d
        return None
    for word in sorted(_RELATIVE, key=len, reverse=True):
        if word in text:
            return today + timedelta(days=_RELATIVE[word])
    m = _WEEKDAY.search(text)
    if m:
        target = _WEEKDAY_NO[m.group(2)]
        weeks_ahead = len(m.group(1) or "")
        if weeks_ahead:
            monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks_ahead)
            return monday + timedelta(days=target)
        ahead = (target - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return None


_CLOCK = re.compile(r"([0-9]{1,2})\s*[:：点]\s*([0-9]{1,2}|半)?")
Span = Union[str, Tuple[str, str]]


def parse_time(raw: str, slots: Sequence[Span]) -> Optional[str]:
    """The start ("09:00") of the slot the citizen picked: "09:00-10:00", "9点",
    "下午两点", "10点半", "上午". ``slots`` are (start, end) pairs (or bare starts,
    then a time must name a start exactly); a time outside every slot is None."""
    spans = [(s, None) if isinstance(s, str) else (s[0], s[1]) for s in slots]
    starts = [s for s, _ in spans]
    text = compact(raw)
    for start in starts:
        if start in text:
            return start
    afternoon = any(w in text for w in ("下午", "午后", "晚"))
    m = _CLOCK.search(text)
    if not m:
        m_cn = re.search(rf"([{_CN}]{{1,3}})\s*点\s*(半)?", text)
        hour = chinese_number(m_cn.group(1)) if m_cn else None
        minute = 30 if m_cn and m_cn.group(2) else 0
    else:
        hour = int(m.group(1))
        minute = 30 if m.group(2) == "半" else int(m.group(2) or 0)
    if hour is not None:
        if afternoon and hour < 12:
            hour += 12
        elif hour < 7:  # "两点" at an office means 14:00
            hour += 12
        wanted = f"{hour:02d}:{minute:02d}"
        for start, end in spans:
            if start == wanted or (end is not None and start <= wanted < end):
                return start
        return None
    if "上午" in text or "早上" in text:
        morning = [s for s in starts if s < "12:00"]
        return morning[0] if morning else None
    if afternoon:
        later = [s for s in starts if s >= "12:00"]
        return later[0] if later else None
    return None


QUESTION = re.compile(r"(吗|嘛|？|\?|哪|什么|怎么|如何|多少|为什么|是不是|要不要|能不能|可不可以|有没有|几点|啥)")


def is_question(raw: str) -> bool:
    return bool(QUESTION.search(compact(raw)))


_NAME = re.compile(r"^(?:我叫|我是|姓名[是:：]?|名字[是叫:：]?|叫)?([\u4e00-\u9fff·]{2,12})$")
_LATIN_NAME = re.compile(r"^(?:我叫|姓名[是:：]?|名字[是叫:：]?)?([A-Za-z][A-Za-z .'\-]{1,40})$")
_NOT_NAMES = ("不知道", "跳过", "算了", "不想说", "可以", "好的", "是的", "没有", "是我", "男方", "女方", "告诉",
              "结婚", "离婚", "登记", "预约", "材料", "名字", "姓名", "本人", "不用", "确认", "取消")


def parse_name(raw: str) -> Optional[str]:
    """A person's name: Chinese characters ("张三", "我叫李小红") or Latin letters
    ("Anna Schmidt"); questions and common non-answers are not names."""
    if is_question(raw):
        return None
    text = compact(raw).strip("。，,.!！")
    m = _NAME.match(text)
    if m:
        name = m.group(1)
        return None if any(w in name for w in _NOT_NAMES) else name
    latin = _LATIN_NAME.match(normalize(raw or "").strip().strip("。，,.!！"))
    return latin.group(1).strip() if latin else None


_MOBILE = re.compile(r"(?<![0-9])(?:\+?86)?(1[3-9][0-9][\s\-]?[0-9]{4}[\s\-]?[0-9]{4})(?![0-9])")


def parse_phone(raw: str) -> Optional[str]:
    m = _MOBILE.search(normalize(raw or ""))
    return normalise_phone(m.group(1)) if m else None


_LAST4 = re.compile(r"(?:尾号|后四位|后4位|末四位|末4位|最后四位|最后4位)\D{0,6}([0-9]{4})(?![0-9])")
_BARE4 = re.compile(r"^\D{0,8}([0-9]{4})\D{0,4}$")


def parse_last4(raw: str, bare: bool = False) -> Optional[str]:
    """The last four digits of a phone number: "尾号1234", a full mobile number, or
    (when ``bare``, i.e. they were just asked for) a message that is four digits."""
    text = normalize(raw or "")
    m = _LAST4.search(text)
    if m:
        return m.group(1)
    phone = parse_phone(text)
    if phone:
        return phone[-4:]
    if bare:
        m = _BARE4.match(text.strip())
        if m:
            return m.group(1)
    return None


_CODE = re.compile(rf"(?<![A-Z0-9])([{CODE_ALPHABET}]{{{CODE_LENGTH}}})(?![A-Z0-9])")


def parse_booking_code(raw: str, asked: bool = False) -> Optional[str]:
    """An 8-character confirmation code (letters and digits without 0/O/1/I/L) standing
    on its own ("取消预约 K7QH2M9T"); codes may be all letters. ``asked`` is accepted for
    symmetry with the other parsers: the code looks the same either way."""
    text = normalize(raw or "").upper()
    m = _CODE.search(text)
    return m.group(1) if m else None


_APPLICATION = re.compile(r"(?<![A-Z0-9])([A-Z]{0,4}[0-9][A-Z0-9\-]{5,31})(?![A-Z0-9])")


def parse_application_number(raw: str) -> Optional[str]:
    """An application number such as "MZ2026110001" (6–32 letters/digits, at least
    one digit); an 11-digit mobile number is not taken for one."""
    text = normalize(raw or "").upper()
    for m in _APPLICATION.finditer(text):
        number = m.group(1).replace("-", "")
        if 6 <= len(number) <= 32 and not re.fullmatch(r"1[3-9][0-9]{9}", number):
            return number
    return None


_CONFIRM_YES = re.compile(r"(确认|确定|没问题|可以|好的|好|对|是的|是|行|嗯|预约吧|就这样)")
_CONFIRM_NO = re.compile(r"(不对|不是|不行|不要|改|换|重新|错了|再选|取消|不确认)")


def parse_confirm(raw: str) -> Optional[bool]:
    """Yes or no to "确认吗？"; a question ("这是哪个登记处？") is neither."""
    text = compact(raw)
    if not text or is_question(raw):
        return None
    if re.search(r"(不用改|不要改|不改|不用换|没问题)", text):
        return True
    if _CONFIRM_NO.search(text):
        return False
    if _CONFIRM_YES.search(text):
        return True
    return None


def choose(text: str, labels: List[str]) -> Optional[int]:
    """Index of the option the citizen picked: its label, a distinctive part of it, or
    "第2个"."""
    t = compact(text)
    for i, label in enumerate(labels):
        if compact(label) == t or compact(label) in t:
            return i
    partial = [i for i, label in enumerate(labels) if len(t) >= 2 and t in compact(label)]
    if len(partial) == 1:
        return partial[0]
    if re.fullmatch(r"[1-9]", t):
        n = int(t)
        return n - 1 if n <= len(labels) else None
    m = re.search(rf"第\s*{_NUM}\s*(?:个|项|家)?", t)
    if m:
        n = chinese_number(m.group(1))
        if n and 1 <= n <= len(labels):
            return n - 1
    return None


_PROGRESS_QUESTION = re.compile(
    r"(进度|办到哪|到哪一步|到哪个环节|审批到|审核到|批下来|批了没|有结果了吗|有没有结果|审核通过了吗)")


def asks_progress(raw: str) -> bool:
    """"我的低保申请办到哪一步了" names a service but asks about an application."""
    return bool(_PROGRESS_QUESTION.search(compact(raw)))


_MANAGE_WORDS = re.compile(r"(改约|改期|预约.{0,6}(改|换|取消|推迟|提前|延后|查)|(改|换|取消|查).{0,6}预约)")
# "我们想在郴州预约结婚登记": asking to book a registration, whatever else the message names
_BOOK_WORDS = re.compile(r"(预约|约个|约一下|挂个号).{0,8}(结婚|离婚|婚姻)|(结婚|离婚|婚姻)登记.{0,6}(预约|约个时间)")


def guided_route(raw: str) -> Optional[str]:
    """The form a message NLU could not place clearly belongs to, from what it contains:
    a confirmation code or "改约…" → managing a booking; an application number or a
    progress question → the status lookup; "预约结婚登记" → booking. None when nothing
    says so."""
    if _MANAGE_WORDS.search(compact(raw)):
        return "manage_booking_form"
    if parse_application_number(raw) or asks_progress(raw):
        return "status_form"
    if parse_booking_code(raw):
        return "manage_booking_form"
    if _BOOK_WORDS.search(compact(raw)):
        return "booking_form"
    return None
