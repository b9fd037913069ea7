"""Button payloads as Telegram callback data (at most 64 bytes).

Most payloads (``/ask_materials``, ``/inform_region{"region":"杭州"}``) fit and are
sent as they are, prefixed with ``p``. Longer ones are replaced by ``k`` plus a
hash and remembered in a bounded map; a key that is no longer known (after a
restart, or evicted) decodes to None and the citizen is asked to type instead.
Whatever comes back is still checked by ``bot.channel_input.prepare_payload``:
callback data can be forged by a modified client.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Optional

MAX_BYTES = 64
RETRY = "r"  # the "重试" button after an outage: resend the chat's last message
RATE = "f"  # "f1:<service>" / "f0:<service>": 有帮助 / 没帮助 under a guide (handled by the front end)


class CallbackKeys:
    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._long: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        direct = "p" + payload
        if len(direct.encode("utf-8")) <= MAX_BYTES:
            return direct
        key = "k" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        self._long[key] = payload
        self._long.move_to_end(key)
        while len(self._long) > self.capacity:
            self._long.popitem(last=False)
        return key

    def decode(self, data: Optional[str]) -> Optional[str]:
        if not data:
            return None
        if data.startswith("p"):
            return data[1:]
        if data.startswith("k"):
            return self._long.get(data)
        return None
