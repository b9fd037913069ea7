"""Citizen messages for the desk that could not be written because the database was
briefly unavailable (locked by another writer, or down).

A citizen in a live handoff must not fall through to the bot when the database
hiccups: the web process keeps such messages here (bounded, in memory) and writes
them to the handoff on the next successful desk call (the flush loop runs every few
seconds). It also remembers which conversations are with staff, so it can keep the
message even when the database cannot be read to find out.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime
from typing import Callable, Deque, Dict, Tuple

logger = logging.getLogger(__name__)

PER_SENDER = 20
SENDERS = 500
REMEMBER_SECONDS = 24 * 3600


class HeldMessages:
    def __init__(self, now: Callable[[], datetime] = datetime.utcnow):
        self.now = now
        self._lock = threading.Lock()
        self._held: Dict[str, Deque[Tuple[datetime, str]]] = {}
        self._with_staff: Dict[str, float] = {}  # sender -> when last seen with staff (monotonic)

    # -- which conversations are with staff ------------------------------------------------------
    def mark(self, sender: str, with_staff: bool) -> None:
        with self._lock:
            if with_staff:
                self._with_staff[sender] = time.monotonic()
                if len(self._with_staff) > SENDERS * 4:
                    cutoff = time.monotonic() - REMEMBER_SECONDS
                    self._with_staff = {k: v for k, v in self._with_staff.items() if v > cutoff}
            else:
                self._with_staff.pop(sender, None)

    def with_staff(self, sender: str) -> bool:
        with self._lock:
            seen = self._with_staff.get(sender)
            return seen is not None and seen > time.monotonic() - REMEMBER_SECONDS

    # -- the held messages ----------------------------------------------------------------------
    def hold(self, sender: str, text: str) -> bool:
        """Keep ``text`` for the desk; False when the buffer is full (the citizen is told to retry)."""
        with self._lock:
            queue = self._held.get(sender)
            if queue is None:
                if len(self._held) >= SENDERS:
                    return False
                queue = self._held[sender] = deque()
            if len(queue) >= PER_SENDER:
                return False
            queue.append((self.now(), text))
            return True

    def count(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._held.values())

    def flush(self, desk) -> int:
        """Write held messages to their handoffs (in a worker thread); returns how many.
        A failure keeps the rest for the next call; a handoff closed meanwhile drops them (logged)."""
        written = 0
        while True:
            with self._lock:
                if not self._held:
                    return written
                sender = next(iter(self._held))
                at, text = self._held[sender][0]
            try:
                taken = desk.citizen_says(sender, text, at=at)
            except Exception:  # noqa: BLE001 - still unavailable: keep everything for later
                return written
            with self._lock:
                queue = self._held.get(sender)
                if queue:
                    queue.popleft()
                    if not queue:
                        del self._held[sender]
            if taken:
                written += 1
            else:
                logger.warning("a held message arrived after its handoff closed; dropped")
