"""Attempt limits on booking self-service (confirmation code + last four phone digits).

The last four digits are only 10,000 possibilities, so a known confirmation code must
not allow guessing them. Counted in the database (``bot.throttle``), so every
action-server worker and every restart sees the same counts:

* **per code**: at most ``CODE_FAILURES`` wrong answers within ``LOCK_WINDOW`` (the
  current and the previous 24-hour window are added, so a lock lasts 24 to 48 hours).
  Beyond that self-service for the code is *locked*: no answer, not even the right
  one, views, cancels or moves the booking, whoever asks; the office can still help
  (and can lift the lock early with :meth:`CodeGuard.unlock`). Unknown codes are
  counted the same way, so the answers do not tell whether a code exists.
* **per client** (the hashed client address the channel passes, or the sender id):
  at most ``CLIENT_FAILURES`` wrong answers within ``CLIENT_WINDOW`` across all codes;
  beyond that the client waits.

An answer is counted once per window however often the conversation re-checks it
(the form looks the booking up on every turn): the pair is recorded as *admitted*
under a hash. The owner's right answer is admitted too and keeps working for the
rest of the window, even if the code gets locked meanwhile; it never counts as a
wrong answer. Admission reserves its place in the code's count before the phone
digits are compared (an atomic upsert), so a burst of simultaneous guesses cannot
pass the limit.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Generic, Optional, TypeVar

from .throttle import Throttle

CODE_FAILURES = 5
LOCK_WINDOW = timedelta(hours=24)
CLIENT_FAILURES = 10
CLIENT_WINDOW = timedelta(hours=1)

T = TypeVar("T")


@dataclass(frozen=True)
class Access(Generic[T]):
    outcome: str  # ok | not_found | locked | throttled
    value: Optional[T] = None
    retry_after_minutes: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def _pair_digest(code: str, last4: str) -> str:
    return hashlib.sha256(f"{code}\0{last4}".encode()).hexdigest()[:20]


class CodeGuard:
    def __init__(self, db_url: str, now: Callable):
        self.db_url = db_url
        self.now = now
        self.current = Throttle(db_url, now)
        self.previous = Throttle(db_url, lambda: now() - LOCK_WINDOW)  # reads the window before

    def _both(self, key: str) -> int:
        return self.current.count(key, LOCK_WINDOW) + self.previous.count(key, LOCK_WINDOW)

    def wrong_answers(self, code: str) -> int:
        """Wrong answers for ``code`` in this and the previous window."""
        return max(0, self._both(f"bkcode:{code}") - self._both(f"bkgood:{code}"))

    def locked(self, code: str) -> bool:
        return self.wrong_answers(code) >= CODE_FAILURES

    def check(self, code: str, last4: str, client: Optional[str], verify: Callable[[], Optional[T]]) -> Access[T]:
        """``verify()`` compares the answer (the booking, or None); called only when allowed."""
        pair = f"bkpair:{code}:{_pair_digest(code, last4)}"
        if self.current.count(pair, LOCK_WINDOW) > 0:  # this very answer was checked before
            value = verify()
            if value is not None:
                return Access("ok", value)
            return Access("locked") if self.locked(code) else Access("not_found")
        client_key = f"bkclient:{client}" if client else None
        if client_key:
            v = self.current.blocked(client_key, CLIENT_FAILURES, CLIENT_WINDOW)
            if not v.allowed:
                return Access("throttled", retry_after_minutes=v.retry_after_minutes)
        if self.locked(code):
            return Access("locked")
        # reserve this attempt in the code's count first: simultaneous guesses cannot all pass
        self.current.hit(f"bkcode:{code}", CODE_FAILURES, LOCK_WINDOW)
        if self.wrong_answers(code) > CODE_FAILURES:
            return Access("locked")
        self.current.hit(pair, 1, LOCK_WINDOW)
        value = verify()
        if value is not None:
            self.current.hit(f"bkgood:{code}", 1, LOCK_WINDOW)
            return Access("ok", value)
        if client_key:
            self.current.hit(client_key, CLIENT_FAILURES, CLIENT_WINDOW)
        return Access("not_found")

    def unlock(self, code: str) -> None:
        """The office lifts a lock (after checking the citizen's identity)."""
        for key in (f"bkcode:{code}", f"bkgood:{code}"):
            self.current.reset(key)
