"""Gateway messages as WeChat text: buttons become numbered options, long texts are split.

WeChat's passive and customer-service text messages are plain text of at most 2048
bytes (UTF-8). A message's buttons become lines such as "回复 1：所需材料", and the
channel remembers each follower's last options (``Options``), so a reply "1" selects
the first; under a guide the follower can also rate it.
"""
from __future__ import annotations

import html
import json
import logging
import re
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Tuple

from ..channels import Channel

logger = logging.getLogger(__name__)

RATE = "rate:"  # an option that rates a guide: "rate:1:<service>" / "rate:0:<service>"
_TAG = re.compile(r"<[^>]*>")
_BR = re.compile(r"<br\s*/?>|</p>|</li>|</h\d>", re.I)


def plain(message: Dict[str, Any]) -> str:
    text = message.get("text")
    if text:
        return str(text).strip()
    raw = message.get("html") or ""
    return html.unescape(_TAG.sub("", _BR.sub("\n", raw))).strip()


def render(messages: List[Dict[str, Any]]) -> Tuple[str, List[str]]:
    """One text for a turn and the payloads of its numbered options (the last message's
    buttons, and 有帮助 / 没帮助 under a guide)."""
    parts: List[str] = []
    options: List[Tuple[str, str]] = []
    for m in messages:
        text = plain(m)
        if text:
            parts.append(text)
        buttons = [(str(b.get("title") or "").strip(), str(b.get("payload") or "")) for b in m.get("buttons") or []]
        if buttons:
            options = buttons
        if m.get("kind") == "guide" and m.get("service"):
            options = [*options, ("有帮助", f"{RATE}1:{m['service']}"), ("没帮助", f"{RATE}0:{m['service']}")]
    if options:
        lines = [f"回复 {i}：{title or '…'}" for i, (title, _) in enumerate(options, 1)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts), [payload for _, payload in options]


def split(text: str, channel: Channel) -> List[str]:
    """Chunks within the channel's limits, cut at line ends where possible."""
    max_bytes = channel.max_bytes or 10**9

    def fits(s: str) -> bool:
        return len(s) <= channel.max_chars and len(s.encode("utf-8")) <= max_bytes

    chunks: List[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if fits(candidate):
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = ""
        while not fits(line):  # one line longer than a message: cut it
            cut = min(len(line), channel.max_chars)
            while cut > 1 and not fits(line[:cut]):
                cut -= 1
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current.strip():
        chunks.append(current)
    return [c.strip("\n") for c in chunks if c.strip()]


class Options:
    """The last numbered options offered to each follower (per process, bounded)."""

    def __init__(self, max_senders: int = 50_000):
        self.max_senders = max_senders
        self._last: OrderedDict[str, List[str]] = OrderedDict()

    def offer(self, sender: str, payloads: List[str]) -> None:
        self._last.pop(sender, None)
        if payloads:
            self._last[sender] = payloads
            while len(self._last) > self.max_senders:
                self._last.popitem(last=False)

    def _payloads(self, sender: str) -> List[str]:
        return self._last.get(sender) or []

    def choose(self, sender: str, text: str) -> Optional[str]:
        """The payload of option ``text`` ("1", "２"...), or None when it is not one."""
        digits = text.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        if not digits.isdigit() or len(digits) > 2:
            return None
        payloads = self._payloads(sender)
        n = int(digits)
        return payloads[n - 1] if 1 <= n <= len(payloads) else None


class SharedOptions(Options):
    """The same in Redis (production mode: several web processes behind nginx, so a
    follower's "2" may reach another process than the one that offered the options).
    Kept 48 hours, WeChat's customer-service window; Redis unavailable = this process's map."""

    TTL = 48 * 3600

    def __init__(self, redis_url: str, prefix: str = "minzheng", client=None):
        super().__init__()
        if client is None:
            import redis

            client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.redis = client
        self.prefix = f"{prefix}:wxoptions:"

    def offer(self, sender: str, payloads: List[str]) -> None:
        super().offer(sender, payloads)
        try:
            if payloads:
                self.redis.set(self.prefix + sender, json.dumps(payloads, ensure_ascii=False), ex=self.TTL)
            else:
                self.redis.delete(self.prefix + sender)
        except Exception:  # noqa: BLE001 - this process still knows them
            logger.warning("shared WeChat options unavailable (offer)")

    def _payloads(self, sender: str) -> List[str]:
        try:
            raw = self.redis.get(self.prefix + sender)
        except Exception:  # noqa: BLE001
            logger.warning("shared WeChat options unavailable (choose)")
            return super()._payloads(sender)
        return json.loads(raw) if raw else []


def options_store(settings) -> Options:
    """Redis-backed when ``settings.redis_url`` is set (production mode), else in memory."""
    if getattr(settings, "redis_url", ""):
        return SharedOptions(settings.redis_url, settings.redis_prefix)
    return Options()
