"""Text normalisation applied before NLU and before any keyword matching.

Traditional → Simplified (OpenCC ``t2s``), full-width → half-width (Unicode
NFKC), control characters removed, whitespace collapsed, and very long input
truncated so a pasted essay cannot stall the pipeline.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterable, Optional, Tuple

MAX_CHARS = 1000
_WS = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _converter().convert(text)


def normalize(text: str, max_chars: int = MAX_CHARS) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    text = _WS.sub(" ", text).strip()
    if len(text) > max_chars:
        text = text[:max_chars]
    return to_simplified(text)


def has_meaningful_text(text: str) -> bool:
    """True if the text has at least one letter or digit (not only emoji or punctuation)."""
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text or "")


def compact(text: Optional[str]) -> str:
    """``normalize`` without any spaces: what keyword tables are matched against."""
    return normalize(text or "").replace(" ", "")


def first_keyword(text: str, table: Iterable[Tuple[str, Iterable[str]]]) -> Optional[str]:
    """The code of the first ``(code, words)`` pair with one of its words in ``text``
    (already compact)."""
    for code, words in table:
        if any(w in text for w in words):
            return code
    return None
