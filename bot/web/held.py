"""Citizen messages for the desk that could not be written because the database was
briefly unavailable (locked by another writer, or down).

A citizen in a live handoff must not fall through to the bot when the database
hiccups: the web process keeps such messages here (bounded, in memory) and writes
them to the handoff on the next successful desk call (the flush loop runs every few
seconds). It also remembers which conversations are with staff, so it can keep the
message even when the database cannot be read to find out.

With several web processes (production mode) both live in Redis instead
(``SharedHeldMessages``, chosen by ``held_store`` when ``MINZHENG_REDIS_URL`` is set).
"""
from __future__ import annotations

import json
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


class SharedHeldMessages(HeldMessages):
    """The same, kept in Redis so that every front-end process sees them (production mode,
    ``MINZHENG_REDIS_URL``): a message held by one web process is flushed by whichever
    process reaches the database first, and every process knows which conversations are
    with staff. Redis being unavailable falls back to this process's memory (logged)."""

    def __init__(self, redis_url: str, prefix: str = "minzheng", now: Callable[[], datetime] = datetime.utcnow,
                 client=None):
        super().__init__(now)
        if client is None:
            import redis

            client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.redis = client
        self.prefix = f"{prefix}:held:"

    def _key(self, kind: str, sender: str = "") -> str:
        return f"{self.prefix}{kind}:{sender}" if sender else f"{self.prefix}{kind}"

    def _shared(self, what: str, fn, fallback):
        try:
            return fn()
        except Exception:  # noqa: BLE001 - Redis down: this process's memory, as without Redis
            logger.warning("shared held-message store unavailable (%s)", what)
            return fallback()

    def mark(self, sender: str, with_staff: bool) -> None:
        def shared() -> None:
            if with_staff:
                self.redis.set(self._key("staff", sender), "1", ex=REMEMBER_SECONDS)
            else:
                self.redis.delete(self._key("staff", sender))
        super().mark(sender, with_staff)
        self._shared("mark", shared, lambda: None)

    def with_staff(self, sender: str) -> bool:
        return self._shared("with_staff", lambda: bool(self.redis.exists(self._key("staff", sender))),
                            lambda: super(SharedHeldMessages, self).with_staff(sender))

    def hold(self, sender: str, text: str) -> bool:
        def shared() -> bool:
            queue = self._key("q", sender)
            if not self.redis.sismember(self._key("senders"), sender) and \
                    self.redis.scard(self._key("senders")) >= SENDERS:
                return False
            if self.redis.llen(queue) >= PER_SENDER:
                return False
            self.redis.rpush(queue, json.dumps([self.now().isoformat(), text], ensure_ascii=False))
            self.redis.sadd(self._key("senders"), sender)
            return True
        return self._shared("hold", shared, lambda: super(SharedHeldMessages, self).hold(sender, text))

    def count(self) -> int:
        def shared() -> int:
            senders = self.redis.smembers(self._key("senders"))
            return sum(self.redis.llen(self._key("q", s.decode())) for s in senders)
        return super().count() + self._shared("count", shared, lambda: 0)

    def flush(self, desk) -> int:
        """This process's fallback messages, then the shared ones: each popped before it is
        written (so two processes never write the same one), put back first on a failure."""
        written = super().flush(desk)
        try:
            senders = [s.decode() for s in self.redis.smembers(self._key("senders"))]
        except Exception:  # noqa: BLE001 - Redis down: nothing shared to flush now
            return written
        for sender in senders:
            queue = self._key("q", sender)
            while True:
                raw = self.redis.lpop(queue)
                if raw is None:
                    self.redis.srem(self._key("senders"), sender)
                    if self.redis.llen(queue):  # held meanwhile by another process
                        self.redis.sadd(self._key("senders"), sender)
                    break
                at, text = json.loads(raw)
                try:
                    taken = desk.citizen_says(sender, text, at=datetime.fromisoformat(at))
                except Exception:  # noqa: BLE001 - still unavailable: back in front, keep the rest
                    self.redis.lpush(queue, raw)
                    return written
                if taken:
                    written += 1
                else:
                    logger.warning("a held message arrived after its handoff closed; dropped")
        return written


def held_store(settings) -> HeldMessages:
    """Redis-backed when ``settings.redis_url`` is set (production mode), else in memory."""
    if getattr(settings, "redis_url", ""):
        return SharedHeldMessages(settings.redis_url, settings.redis_prefix)
    return HeldMessages()
