"""Bot messages as Telegram messages: HTML text within the length limit, inline keyboards.

Our HTML (``bot.render``) already is the subset Telegram accepts: ``<b>``, ``<i>``,
``<a href>`` and the entities ``&lt; &gt; &amp; &quot;`` plus numeric ones, with
line breaks as plain newlines. Telegram limits a message to 4096 characters of
*visible* text (after the markup is parsed), so long guides are split on paragraph
boundaries, then on lines, and only as a last resort inside a line (outside tags).
"""
from __future__ import annotations

import html
import re
from typing import Iterable, List, Optional, Sequence

MAX_CHARS = 4096
_TAG = re.compile(r"<[^>]*>")
_ALLOWED_TAG = re.compile(r"</?(b|i|u|s|a|code|pre)(\s[^>]*)?>", re.I)


def visible_length(fragment: str) -> int:
    """Characters Telegram counts: tags removed, entities decoded (UTF-16 units)."""
    text = html.unescape(_TAG.sub("", fragment))
    return len(text.encode("utf-16-le")) // 2


def sanitize(fragment: str) -> str:
    """Escape any tag Telegram would reject (defence in depth: templates emit only <b>)."""
    return _TAG.sub(lambda m: m.group(0) if _ALLOWED_TAG.fullmatch(m.group(0)) else html.escape(m.group(0)),
                    fragment)


def plain_to_html(text: str) -> str:
    return html.escape(text, quote=False)


def _hard_split(line: str, limit: int) -> List[str]:
    """Split one over-long line into pieces of at most ``limit`` visible characters,
    never inside a tag or an entity, and closing/reopening an open <b>/<i>."""
    tokens = re.findall(r"<[^>]*>|&[#A-Za-z0-9]+;|.", line, flags=re.S)
    pieces: List[str] = []
    cur: List[str] = []
    size = 0
    open_tags: List[str] = []
    for tok in tokens:
        if tok.startswith("<"):
            name = re.match(r"</?\s*([a-zA-Z]+)", tok)
            if name:
                if tok.startswith("</"):
                    if open_tags:
                        open_tags.pop()
                else:
                    open_tags.append(name.group(1).lower())
            cur.append(tok)
            continue
        width = visible_length(tok)
        if size + width > limit and size > 0:
            cur.extend(f"</{t}>" for t in reversed(open_tags))
            pieces.append("".join(cur))
            cur = [f"<{t}>" for t in open_tags if t != "a"]
            size = 0
        cur.append(tok)
        size += width
    if cur:
        pieces.append("".join(cur))
    return pieces


def split_html(text: str, limit: int = MAX_CHARS) -> List[str]:
    """Chunks of at most ``limit`` visible characters, cut at paragraph boundaries
    (blank lines) where possible, then at line ends, then inside a line."""
    text = text.strip("\n")
    if visible_length(text) <= limit:
        return [text] if text else []
    units: List[tuple[str, str]] = []  # (separator before, block)
    for i, para in enumerate(text.split("\n\n")):
        if visible_length(para) <= limit:
            units.append(("\n\n" if i else "", para))
            continue
        for j, line in enumerate(para.split("\n")):
            sep = ("\n\n" if i else "") if j == 0 else "\n"
            if visible_length(line) <= limit:
                units.append((sep, line))
            else:
                for k, piece in enumerate(_hard_split(line, limit)):
                    units.append((sep if k == 0 else "\n", piece))
    chunks: List[str] = []
    cur = ""
    for sep, block in units:
        candidate = f"{cur}{sep}{block}" if cur else block
        if cur and visible_length(candidate) > limit:
            chunks.append(cur)
            cur = block
        else:
            cur = candidate
    if cur:
        chunks.append(cur)
    return [c.strip("\n") for c in chunks if c.strip()]


def keyboard_rows(titles: Sequence[str], max_per_row: int = 3, max_width: int = 14) -> List[List[int]]:
    """Indexes of buttons laid out in rows: short titles share a row, long ones get their own."""
    rows: List[List[int]] = []
    cur: List[int] = []
    width = 0
    for i, title in enumerate(titles):
        w = max(len(title), 2)
        if cur and (len(cur) >= max_per_row or width + w > max_width):
            rows.append(cur)
            cur, width = [], 0
        cur.append(i)
        width += w
    if cur:
        rows.append(cur)
    return rows


def message_html(message: dict) -> Optional[str]:
    """The Telegram HTML of one merged Rasa message (see ``bot.rasa_reply``)."""
    if message.get("html"):
        return sanitize(str(message["html"]))
    if message.get("text"):
        return plain_to_html(str(message["text"]))
    return None


def iter_chunks(messages: Iterable[dict]) -> Iterable[tuple[str, bool, dict]]:
    """(html chunk, is_last_chunk_of_message, message) for every message."""
    for m in messages:
        body = message_html(m)
        if not body:
            continue
        chunks = split_html(body)
        for n, chunk in enumerate(chunks):
            yield chunk, n == len(chunks) - 1, m
