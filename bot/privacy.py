"""Personal data in free text: what staff screens and exports see masked.

People write numbers in many ways: ``138 0013 8000``, ``138-0013-8000``,
``+86 138…``, ``86138…``, full-width ``１３８００１３８０００``, ID numbers in
groups (``110101 19900307 123X``) or with a lower-case ``x``. The text is folded
character by character (Unicode NFKC, so full-width digits, ``＋`` and the ideographic
space become their ASCII forms; one character stays one character, so positions
do not move), the numbers are found in the folded text, and only their spans are
replaced in the original: the rest of the text is kept exactly as written.

Masked forms: mobiles keep their first three and last four digits (``138****8000``;
a ``+86`` prefix is kept as written), ID-card numbers (18 characters with a plausible
birth date) their region code and last four (``110101********123X``); the separators
inside a number are dropped.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Optional

# between two digits: a few spaces, or a dash / dot with spaces around it (unambiguous, so no backtracking blow-up)
_SEP = r"(?:[ \t]{0,3}(?:[-.\u2010-\u2015\u2212][ \t]{0,3})?)"
_D = r"\d"
_ID_CARD = re.compile(
    rf"(?<!\d)(?P<num>[1-9](?:{_SEP}{_D}){{16}}{_SEP}[0-9Xx])(?!\d)")
_MOBILE = re.compile(
    rf"(?<!\d)(?P<prefix>(?:\+|00)?[ \t]{{0,2}}86[ \t]{{0,3}}[-\u2010-\u2015]?[ \t]{{0,3}}|\(\+?86\)[ \t]{{0,3}})?"
    rf"(?P<num>1{_SEP}[3-9](?:{_SEP}{_D}){{9}})(?!\d)")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch.isdecimal():
        return str(unicodedata.decimal(ch))
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def fold(text: str) -> str:
    """``text`` with full-width (and other) digits, signs and spaces as ASCII; same length."""
    if text.isascii():
        return text
    return "".join(_fold_char(c) for c in text)


def _digits(span: str) -> str:
    return "".join(c for c in span if c.isdigit() or c in "Xx")


def _replace(text: str, folded: str, pattern: re.Pattern, masked) -> tuple:
    out, folded_out, last = [], [], 0
    for m in pattern.finditer(folded):
        new = masked(m, text)
        if new is None:  # not a number of that kind after all
            continue
        out.append(text[last:m.start()])
        out.append(new)
        folded_out.append(folded[last:m.start()])
        folded_out.append(new)
        last = m.end()
    out.append(text[last:])
    folded_out.append(folded[last:])
    return "".join(out), "".join(folded_out)


def _mask_id(m: re.Match, original: str) -> Optional[str]:
    d = _digits(m.group("num"))
    year, month, day = int(d[6:10]), int(d[10:12]), int(d[12:14])
    if not (1800 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31):
        return None  # no birth date in it: e.g. a mobile followed by another number
    return f"{d[:6]}********{d[-4:]}"


def _mask_mobile(m: re.Match, original: str) -> str:
    d = _digits(m.group("num"))
    prefix = original[m.start("prefix"):m.end("prefix")] if m.group("prefix") else ""
    return f"{prefix}{d[:3]}****{d[-4:]}"


def mask_personal(text: str) -> str:
    """ID-card numbers keep their region code and last four, mobiles their first three and last four."""
    if not text:
        return text
    folded = fold(text)
    text, folded = _replace(text, folded, _ID_CARD, _mask_id)
    text, _ = _replace(text, folded, _MOBILE, _mask_mobile)
    return text
