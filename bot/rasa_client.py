"""Talk to Rasa's REST channel from a channel (web chat, Telegram).

One function, used by every front end: send the citizen's prepared message
(see ``bot.channel_input``) and get back whole messages (see
``bot.rasa_reply``), or ``ok=False`` when Rasa or the action server is down,
so the channel can apologise, give the hotline and offer a retry.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from aiohttp import ClientError, ClientSession

from .rasa_reply import merge_messages

logger = logging.getLogger(__name__)


@dataclass
class RasaResult:
    ok: bool
    messages: List[Dict[str, Any]] = field(default_factory=list)


async def send(session: ClientSession, rasa_url: str, sender: str, message: str,
               metadata: Optional[Dict[str, Any]] = None) -> RasaResult:
    """POST to /webhooks/rest/webhook. Never raises for network or server errors."""
    try:
        async with session.post(
            f"{rasa_url.rstrip('/')}/webhooks/rest/webhook",
            json={"sender": sender, "message": message, "metadata": metadata or {}},
        ) as resp:
            if resp.status != 200:
                raise ClientError(f"status {resp.status}")
            raw = await resp.json()
    except (ClientError, asyncio.TimeoutError, ValueError) as exc:
        logger.warning("Rasa unavailable: %s", type(exc).__name__)
        return RasaResult(False)
    messages = merge_messages(raw if isinstance(raw, list) else [])
    if not messages:
        # Rasa answered but produced nothing: the action server is down (or failed).
        logger.warning("Rasa returned no messages (action server down?)")
        return RasaResult(False)
    return RasaResult(True, messages)


async def restart(session: ClientSession, rasa_url: str, sender: str) -> bool:
    """Forget the conversation: Rasa's default ``/restart`` resets every slot and the
    dialogue state of ``sender``. True when Rasa accepted it."""
    try:
        async with session.post(
            f"{rasa_url.rstrip('/')}/webhooks/rest/webhook",
            json={"sender": sender, "message": "/restart", "metadata": {}},
        ) as resp:
            return resp.status == 200
    except (ClientError, asyncio.TimeoutError):
        logger.warning("Rasa unavailable for restart")
        return False
