"""Keyword matching for the out-of-scope topics: a keyword occurs in a message as it is
written (补办残疾证) or with its words in another order close together (残疾证丢了
怎么补办). Citizens rarely use a keyword's word order; the NLU has already found the
message out of scope, and the topic only says which agency to name.

Only keywords that segment into two or more words of two characters or more are
matched out of order (a one-character word such as 办 or 证 would match anywhere).
The words must all occur within a span of ``len(keyword) + SLACK`` characters when
one of them is three characters or longer (残疾证 … 补办), and within ``len(keyword)
+ TIGHT`` when all are two-character words, which meet by chance further apart
(社会…组织, 房屋…鉴定, 上学…手续) but rarely that close (遗体怎么捐献).
"""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Optional, Tuple

SLACK = 5
TIGHT = 2


@lru_cache(maxsize=4096)
def normal_keyword(keyword: str) -> str:
    """A content keyword as messages are normalised (``bot.normalize``), once per keyword."""
    from .normalize import normalize

    return normalize(keyword or "")


@lru_cache(maxsize=4096)
def words(keyword: str) -> Optional[Tuple[str, ...]]:
    """The words of a keyword that may occur in any order, or None (exact match only)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    parts = tuple(w for w in jieba.lcut(keyword) if w.strip())
    if len(parts) < 2 or any(len(w) < 2 for w in parts):
        return None
    return parts


def occurs(keyword: str, text: str) -> bool:
    """True when ``keyword`` occurs in ``text`` (both normalised by the caller)."""
    if not keyword:
        return False
    if keyword in text:
        return True
    parts = words(keyword)
    if parts is None or not all(w in text for w in parts):
        return False
    # some occurrence of one word, with the nearest occurrence of each other word after it
    limit = len(keyword) + (SLACK if max(len(w) for w in parts) >= 3 else TIGHT)
    positions = [[i for i in range(len(text)) if text.startswith(w, i)] for w in parts]
    for first, starts in enumerate(positions):
        for start in starts:
            end = start + len(parts[first])
            for other, found in enumerate(positions):
                after = next((p for p in found if p >= start), None) if other != first else start
                if after is None:
                    break
                end = max(end, after + len(parts[other]))
            else:
                if end - start <= limit:
                    return True
    return False
