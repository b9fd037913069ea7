"""Personal data in free text: what staff screens and exports see masked."""
from __future__ import annotations

import re

_ID_CARD = re.compile(r"(?<![0-9])([1-9]\d{5})(\d{8})(\d{3}[0-9Xx])(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9]\d)(\d{4})(\d{4})(?![0-9])")


def mask_personal(text: str) -> str:
    """ID-card numbers keep their region code and last four, mobiles their first three and last four."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(3)[-4:]}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
