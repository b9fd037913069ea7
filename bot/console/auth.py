"""Staff accounts and sign-in for the hotline console.

- Passwords are hashed with Argon2id (``argon2-cffi``); hashes are re-computed on
  sign-in when the library's parameters change.
- A session is a random 256-bit token in an HttpOnly cookie; the database keeps only
  its SHA-256. Sessions end after ``max_age`` (absolute) or ``idle`` without use, and
  on sign-out.
- Sign-in attempts are throttled per account name and per client (``bot.throttle``:
  counted atomically in the database, shared by every process; successful sign-ins do
  not count). The client is a keyed hash of the real client address, which behind a
  reverse proxy comes from ``X-Forwarded-For`` only when the proxy is one of
  ``MINZHENG_TRUSTED_PROXIES`` (``bot.client``): one noisy client cannot lock out the
  operators behind other addresses. An unknown name costs the same hashing work as a
  known one.
- Roles: an operator serves conversations; a supervisor may also reveal personal data
  in conversations served by others.
"""
from __future__ import annotations

import hashlib
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
from ..throttle import Throttle

NAME = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
FAILURES_PER_NAME = 5
FAILURES_PER_CLIENT = 20
THROTTLE_WINDOW = timedelta(minutes=15)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    pass


ROLES = ("operator", "supervisor")


@dataclass(frozen=True)
class Staff:
    id: int
    name: str
    display_name: str
    role: str = "operator"

    @property
    def supervisor(self) -> bool:
        return self.role == "supervisor"


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
        self.throttle = Throttle(db_url, now=now)

    # -- accounts ------------------------------------------------------------------------
    @staticmethod
    def _staff(acc: models.StaffAccount) -> Staff:
        return Staff(acc.id, acc.name, acc.display_name, acc.role or "operator")

    def add_account(self, name: str, password: str, display_name: Optional[str] = None,
                    role: str = "operator") -> Staff:
        if not isinstance(name, str) or not NAME.match(name):
            raise AccountError("the account name must be 2-32 characters: letters, digits, _ . -")
        if role not in ROLES:
            raise AccountError(f"the role must be one of: {', '.join(ROLES)}")
        check_password_strength(password, name)
        try:
            with session_scope(self.db_url) as s:
                acc = models.StaffAccount(name=name, display_name=(display_name or name)[:64],
                                          password_hash=_hasher.hash(password), active=True,
                                          created_at=self.now(), role=role)
                s.add(acc)
                s.flush()
                return self._staff(acc)
        except IntegrityError:
            raise AccountError(f"an account named {name!r} exists already") from None

    def set_role(self, name: str, role: str) -> bool:
        """Make an account an operator or a supervisor; False when there is no such account."""
        if role not in ROLES:
            raise AccountError(f"the role must be one of: {', '.join(ROLES)}")
        with session_scope(self.db_url) as s:
            acc = s.execute(select(models.StaffAccount).where(models.StaffAccount.name == name)).scalar_one_or_none()
            if acc is None:
                return False
            acc.role = role
            return True

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
    def _throttled(self, name: str, client: str) -> int:
        """Count this attempt against the account name and the client (atomically, in the
        database: a burst of concurrent attempts cannot slip past the limit); minutes to
        wait when either is over its limit, else 0. Successful sign-ins are forgiven."""
        waits = []
        for key, limit in ((f"login:name:{name}", FAILURES_PER_NAME),
                           (f"login:client:{client}", FAILURES_PER_CLIENT)):
            forgiven = self.throttle.count(key + ":ok", THROTTLE_WINDOW)
            verdict = self.throttle.hit(key, limit + forgiven, THROTTLE_WINDOW)
            if not verdict.allowed:
                waits.append(verdict.retry_after_minutes)
        return max(waits, default=0)

    def login(self, name: str, password: str, client: str) -> LoginResult:
        """Sign in; ``client`` identifies who asks (the web layer passes a keyed hash of
        the client address, see bot.client)."""
        name = (name or "").strip()[:64]
        client = (client or "?")[:64]
        password = password if isinstance(password, str) else ""
        wait = self._throttled(name, client)
        if wait:
            return LoginResult(False, throttled=True, retry_after_minutes=wait)
        with session_scope(self.db_url) as s:
            acc = s.execute(select(models.StaffAccount).where(models.StaffAccount.name == name)).scalar_one_or_none()
            hash_ = acc.password_hash if acc else None
        ok = False
        try:
            # verify against a dummy hash for unknown names: the same work either way
            ok = _hasher.verify(hash_ or _DUMMY_HASH, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            ok = False
        ok = ok and acc is not None and acc.active
        with session_scope(self.db_url) as s:
            s.add(models.LoginAttempt(name=name, remote=client, at=self.now(), ok=ok))
            if not ok:
                return LoginResult(False)
            if _hasher.check_needs_rehash(hash_):
                s.execute(update(models.StaffAccount).where(models.StaffAccount.id == acc.id)
                          .values(password_hash=_hasher.hash(password)))
            token = secrets.token_urlsafe(32)
            now = self.now()
            s.add(models.StaffSession(token_hash=_token_hash(token), account_id=acc.id, created_at=now,
                                      expires_at=now + self.max_age, last_seen=now))
        for key in (f"login:name:{name}:ok", f"login:client:{client}:ok"):
            self.throttle.hit(key, 10**9, THROTTLE_WINDOW)
        return LoginResult(True, token=token, staff=self._staff(acc))

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
            staff = self._staff(acc)
            if now - row.last_seen > timedelta(seconds=60):  # do not write on every request
                s.execute(update(models.StaffSession).where(models.StaffSession.token_hash == row.token_hash)
                          .values(last_seen=now).execution_options(synchronize_session=False))
            return staff

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
