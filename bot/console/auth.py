"""Staff accounts and sign-in for the hotline console.

- Passwords are hashed with Argon2id (``argon2-cffi``); hashes are re-computed on
  sign-in when the library's parameters change.
- A session is a random 256-bit token in an HttpOnly cookie; the database keeps only
  its SHA-256. Sessions end after ``max_age`` (absolute) or ``idle`` without use, and
  on sign-out.
- Sign-in attempts are throttled per account name and per client address, counted in
  the database: a failed attempt and a throttled one give the same neutral message,
  and an unknown name costs the same hashing work as a known one.
"""
from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..catalog import models
from ..catalog.db import session_scope

NAME = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
FAILURES_PER_NAME = 5
FAILURES_PER_REMOTE = 20
THROTTLE_WINDOW = timedelta(minutes=15)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Staff:
    id: int
    name: str
    display_name: str


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    token: Optional[str] = None
    staff: Optional[Staff] = None
    throttled: bool = False
    retry_after_minutes: int = 0


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_password_strength(password: str, name: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"the password must have {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    if name.lower() in password.lower():
        raise AccountError("the password must not contain the account name")
    if len(set(password)) < 5:
        raise AccountError("the password is too repetitive")


class StaffAuth:
    def __init__(self, db_url: str, max_age: timedelta = timedelta(hours=10),
                 idle: timedelta = timedelta(minutes=30), now: Callable[[], datetime] = datetime.utcnow):
        self.db_url = db_url
        self.max_age = max_age
        self.idle = idle
        self.now = now

    # -- accounts ------------------------------------------------------------------------
    def add_account(self, name: str, password: str, display_name: Optional[str] = None) -> Staff:
        if not isinstance(name, str) or not NAME.match(name):
            raise AccountError("the account name must be 2-32 characters: letters, digits, _ . -")
        check_password_strength(password, name)
        try:
            with session_scope(self.db_url) as s:
                acc = models.StaffAccount(name=name, display_name=(display_name or name)[:64],
                                          password_hash=_hasher.hash(password), active=True,
                                          created_at=self.now())
                s.add(acc)
                s.flush()
                return Staff(acc.id, acc.name, acc.display_name)
        except IntegrityError:
            raise AccountError(f"an account named {name!r} exists already") from None

    def set_active(self, name: str, active: bool) -> bool:
        with session_scope(self.db_url) as s:
            acc = s.execute(select(models.StaffAccount).where(models.StaffAccount.name == name)).scalar_one_or_none()
            if acc is None:
                return False
            acc.active = active
            if not active:
                s.execute(delete(models.StaffSession).where(models.StaffSession.account_id == acc.id))
            return True

    # -- sign-in -------------------------------------------------------------------------
    def _wait_minutes(self, s, name: str, remote: str) -> int:
        since = self.now() - THROTTLE_WINDOW
        waits = []
        for column, value, limit in ((models.LoginAttempt.name, name, FAILURES_PER_NAME),
                                     (models.LoginAttempt.remote, remote, FAILURES_PER_REMOTE)):
            times = sorted(s.execute(select(models.LoginAttempt.at).where(
                column == value, models.LoginAttempt.ok.is_(False), models.LoginAttempt.at > since)).scalars())
            if len(times) >= limit:
                waits.append(times[-limit] + THROTTLE_WINDOW - self.now())
        if not waits:
            return 0
        return max(1, math.ceil(max(waits).total_seconds() / 60))

    def login(self, name: str, password: str, remote: str) -> LoginResult:
        name = (name or "").strip()[:64]
        remote = (remote or "?")[:64]
        password = password if isinstance(password, str) else ""
        with session_scope(self.db_url) as s:
            wait = self._wait_minutes(s, name, remote)
            if wait:
                return LoginResult(False, throttled=True, retry_after_minutes=wait)
            acc = s.execute(select(models.StaffAccount).where(models.StaffAccount.name == name)).scalar_one_or_none()
            ok = False
            try:
                # verify against a dummy hash for unknown names: the same work either way
                ok = _hasher.verify(acc.password_hash if acc else _DUMMY_HASH, password[:MAX_PASSWORD])
            except (VerificationError, InvalidHashError):
                ok = False
            ok = ok and acc is not None and acc.active
            s.add(models.LoginAttempt(name=name, remote=remote, at=self.now(), ok=ok))
            if not ok:
                return LoginResult(False)
            if _hasher.check_needs_rehash(acc.password_hash):
                acc.password_hash = _hasher.hash(password)
            token = secrets.token_urlsafe(32)
            now = self.now()
            s.add(models.StaffSession(token_hash=_token_hash(token), account_id=acc.id, created_at=now,
                                      expires_at=now + self.max_age, last_seen=now))
            return LoginResult(True, token=token, staff=Staff(acc.id, acc.name, acc.display_name))

    def session(self, token: Optional[str]) -> Optional[Staff]:
        """The signed-in staff member for a cookie token, or None (unknown, expired, idle, disabled)."""
        if not token or len(token) > 128:
            return None
        now = self.now()
        with session_scope(self.db_url) as s:
            row = s.get(models.StaffSession, _token_hash(token))
            if row is None:
                return None
            if row.expires_at <= now or row.last_seen + self.idle <= now:
                s.delete(row)
                return None
            acc = s.get(models.StaffAccount, row.account_id)
            if acc is None or not acc.active:
                s.delete(row)
                return None
            if now - row.last_seen > timedelta(seconds=60):  # do not write on every request
                s.execute(update(models.StaffSession).where(models.StaffSession.token_hash == row.token_hash)
                          .values(last_seen=now).execution_options(synchronize_session=False))
            return Staff(acc.id, acc.name, acc.display_name)

    def logout(self, token: Optional[str]) -> None:
        if not token:
            return
        with session_scope(self.db_url) as s:
            s.execute(delete(models.StaffSession).where(models.StaffSession.token_hash == _token_hash(token))
                      .execution_options(synchronize_session=False))

    def purge(self, keep_attempts: timedelta = timedelta(days=30)) -> None:
        now = self.now()
        with session_scope(self.db_url) as s:
            s.execute(delete(models.StaffSession).where(models.StaffSession.expires_at <= now)
                      .execution_options(synchronize_session=False))
            s.execute(delete(models.LoginAttempt).where(models.LoginAttempt.at < now - keep_attempts)
                      .execution_options(synchronize_session=False))

    def online_count(self) -> int:
        """Staff signed in and active within the idle timeout (can take a handoff now)."""
        now = self.now()
        with session_scope(self.db_url) as s:
            return s.execute(select(func.count(func.distinct(models.StaffSession.account_id))).where(
                models.StaffSession.expires_at > now, models.StaffSession.last_seen > now - self.idle)).scalar_one()

    def count_accounts(self) -> int:
        with session_scope(self.db_url) as s:
            return s.execute(select(func.count()).select_from(models.StaffAccount)).scalar_one()
