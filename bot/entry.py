"""QR-code entry points as seen by the channels.

A poster's QR code carries an entry-point id: as the Telegram deep-link payload
(``/start <id>``) or as ``?entry=<id>`` on the web chat. A channel turns a valid,
known id into the Rasa message that opens the conversation on that service;
anything else (bad characters, too long, unknown) gives None and the channel
shows its normal welcome, never an error.
"""
from __future__ import annotations

from typing import Optional

from .assistant import intent_for, intent_payload
from .catalog.queries import Catalog, EntryPointInfo
from .catalog.schema import ENTRY_ID


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


def web_link(base_url: str, entry_id: str) -> str:
    return f"{base_url.rstrip('/')}/?entry={entry_id}"
