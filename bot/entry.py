"""QR-code entry points as seen by the channels.

A poster's QR code carries an entry-point id: as the Telegram deep-link payload
(``/start <id>``) or as ``?entry=<id>`` on the web chat. A channel turns a valid,
known id into the Rasa message that opens the conversation on that service;
anything else (bad characters, too long, unknown) gives None and the channel
shows its normal welcome, never an error.

An entry point with ``elder_mode: true`` (bot/content/entry_points.yml) opens the web
chat in 长辈版: its web link carries ``&mode=elder``, which the page reads from its own
address (docs/elder-mode.md). The flag is read from the content file, not the catalogue
database (it changes no table).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Tuple

import yaml

from .assistant import intent_for, intent_payload
from .catalog.queries import Catalog, EntryPointInfo
from .catalog.schema import ENTRY_ID, EntryPointsFile
from .config import CONTENT_DIR


def valid_entry_id(raw: object) -> Optional[str]:
    """The id if it is a syntactically valid payload, else None."""
    if isinstance(raw, str) and ENTRY_ID.match(raw):
        return raw
    return None


def lookup(catalog: Catalog, raw: object) -> Optional[EntryPointInfo]:
    entry_id = valid_entry_id(raw)
    return catalog.entry_point(entry_id) if entry_id else None


def rasa_message(catalog: Catalog, raw: object) -> Optional[str]:
    """'/marriage_register{"entry":"hz-xihu-marriage"}' for a known entry point, else None."""
    ep = lookup(catalog, raw)
    if ep is None:
        return None
    return intent_payload(intent_for(ep.service), entry=ep.id)


def telegram_link(bot_username: str, entry_id: str) -> str:
    return f"https://t.me/{bot_username}?start={entry_id}"


def web_link(base_url: str, entry_id: str, elder: bool = False) -> str:
    """The web chat's address for a QR code; ``elder`` adds ``&mode=elder`` (长辈版)."""
    return f"{base_url.rstrip('/')}/?entry={entry_id}" + ("&mode=elder" if elder else "")


_elder_cache: Dict[Path, Tuple[float, frozenset]] = {}


def elder_entries(content_dir: Path = CONTENT_DIR) -> frozenset:
    """Ids of the entry points marked ``elder_mode: true`` (re-read when the file changes)."""
    path = Path(content_dir) / "entry_points.yml"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return frozenset()
    cached = _elder_cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    parsed = EntryPointsFile.parse_obj(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    ids = frozenset(ep.id for ep in parsed.entry_points if ep.elder_mode)
    _elder_cache[path] = (mtime, ids)
    return ids


def elder_mode(raw: object, content_dir: Path = CONTENT_DIR) -> bool:
    """True when this entry point opens the web chat in 长辈版."""
    entry_id = valid_entry_id(raw)
    return entry_id is not None and entry_id in elder_entries(content_dir)
