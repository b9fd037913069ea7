"""Attempt counters shared by every process: fixed time windows counted in the database.

One row per (key, window start). ``hit`` adds one with an atomic
``INSERT ... ON CONFLICT DO UPDATE`` (with ``RETURNING`` on PostgreSQL; on SQLite the
upsert holds the write lock while the same transaction reads the count back), so a
burst from many workers can never pass the limit (no check-then-insert race).

Keys name what is counted and for whom, e.g. ``"code:AB12CD34"``, ``"client:<hash>"``;
callers hash anything personal before it becomes a key (``bot.client.client_key``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .catalog import models
from .catalog.db import get_engine, session_scope


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int  # hits in the current window, this one included
    retry_after_seconds: int = 0

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after_seconds / 60)) if not self.allowed else 0


class Throttle:
    def __init__(self, db_url: str, now: Callable[[], datetime] = datetime.now):
        self.db_url = db_url
        self.now = now

    @staticmethod
    def _window_start(now: datetime, window: timedelta) -> datetime:
        size = max(1, int(window.total_seconds()))
        epoch = int(now.timestamp())
        return datetime.fromtimestamp(epoch - epoch % size)

    def _retry(self, now: datetime, start: datetime, window: timedelta) -> int:
        return max(1, math.ceil((start + window - now).total_seconds()))

    def hit(self, key: str, limit: int, window: timedelta) -> Verdict:
        """Count one attempt for ``key``; allowed while the window holds at most ``limit``."""
        now = self.now()
        start = self._window_start(now, window)
        dialect = get_engine(self.db_url).dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        table = models.ThrottleHit.__table__
        stmt = insert(table).values(key=key[:160], window_start=start, count=1)
        stmt = stmt.on_conflict_do_update(index_elements=["key", "window_start"],
                                          set_={"count": table.c.count + 1})
        with session_scope(self.db_url) as s:
            if dialect == "postgresql":
                count = s.execute(stmt.returning(table.c.count)).scalar_one()
            else:  # SQLite: the upsert took the write lock, so this read sees exactly our row
                s.execute(stmt)
                count = s.execute(select(table.c.count).where(
                    table.c.key == key[:160], table.c.window_start == start)).scalar_one()
        allowed = count <= limit
        return Verdict(allowed, count, 0 if allowed else self._retry(now, start, window))

    def count(self, key: str, window: timedelta) -> int:
        """Hits for ``key`` in the current window, without counting one."""
        start = self._window_start(self.now(), window)
        with session_scope(self.db_url) as s:
            return s.execute(select(func.coalesce(func.sum(models.ThrottleHit.count), 0)).where(
                models.ThrottleHit.key == key[:160], models.ThrottleHit.window_start == start)).scalar_one()

    def blocked(self, key: str, limit: int, window: timedelta) -> Verdict:
        """Whether ``key`` is over its limit now (no hit counted)."""
        n = self.count(key, window)
        if n < limit:
            return Verdict(True, n)
        now = self.now()
        return Verdict(False, n, self._retry(now, self._window_start(now, window), window))

    def reset(self, key: str) -> None:
        with session_scope(self.db_url) as s:
            s.execute(delete(models.ThrottleHit).where(models.ThrottleHit.key == key[:160]))

    def purge(self, older_than: timedelta = timedelta(days=2)) -> int:
        """Delete old windows (the maintenance loop runs this); returns how many rows."""
        with session_scope(self.db_url) as s:
            res = s.execute(delete(models.ThrottleHit).where(
                models.ThrottleHit.window_start < self.now() - older_than))
            return res.rowcount or 0
