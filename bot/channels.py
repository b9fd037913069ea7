"""The channel registry: every front end declares itself here, once.

A channel has a name (stored with handoffs and statistics), the prefix of its Rasa
sender ids, whether it can carry a live handoff to staff, how operator messages reach
the citizen (``push``: the channel sends them as they are written; ``poll``: the
client asks), and its text limits. Nothing else in ``bot/`` or ``actions/`` names a
channel: the gateway, the handoff desk and the actions ask this module.

Adding a channel: one adapter package (translating its wire format to and from
``bot.gateway``) plus one entry below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional


@dataclass(frozen=True)
class Channel:
    name: str
    prefix: str  # Rasa sender ids of this channel start with it
    handoff: bool  # can carry a live handoff (operator messages reach the citizen)
    delivery: Optional[str]  # "push" | "poll" | None (no live handoff)
    max_chars: int  # longest text of one outgoing message (characters)
    max_bytes: Optional[int] = None  # and in UTF-8 bytes, where the platform counts bytes
    label: str = ""  # for staff (console)

    def sender(self, local_id: object) -> str:
        return f"{self.prefix}{local_id}"

    def local_id(self, sender: str) -> Optional[str]:
        return sender[len(self.prefix):] if sender.startswith(self.prefix) else None


CHANNELS: Dict[str, Channel] = {c.name: c for c in (
    Channel("web", "web-", True, "poll", 20_000, label="网页"),
    Channel("telegram", "tg-", True, "push", 4096, label="Telegram"),
    # WeChat counts bytes: 2048 for a passive or customer-service text message
    Channel("wechat", "wx-", True, "push", 680, max_bytes=2048, label="微信公众号"),
    # python -m bot ask: the REST API without a person behind it
    Channel("ask", "ask-", False, None, 100_000, label="命令行"),
)}


def get(name: object) -> Optional[Channel]:
    return CHANNELS.get(name) if isinstance(name, str) else None


def require(name: str) -> Channel:
    channel = get(name)
    if channel is None:
        raise KeyError(f"unknown channel {name!r}")
    return channel


def of_sender(sender: str) -> Optional[Channel]:
    for channel in CHANNELS.values():
        if sender.startswith(channel.prefix):
            return channel
    return None


def handoff_channels() -> FrozenSet[str]:
    """Channels that deliver operator replies (the actions offer a person only there)."""
    return frozenset(c.name for c in CHANNELS.values() if c.handoff)


def can_hand_off(name: object) -> bool:
    channel = get(name)
    return channel is not None and channel.handoff
