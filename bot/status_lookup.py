"""Application status lookup (办件进度查询).

A citizen gives the application number and the last four digits of the phone number
on the application. The answer shows the current step and the history with personal
data masked (张*, 138****1234). A wrong pair gets exactly the same answer as an
unknown number.

Wrong answers are counted in the database (``bot.throttle``, shared by every worker)
per *client* (the hashed client address the channel passes in the Rasa metadata, or
the sender id when a channel gives none), never per conversation, so opening new
conversations does not allow more guesses:

* per client, across all numbers: ``MAX_CLIENT_FAILURES`` per ``WINDOW`` and
  ``MAX_CLIENT_DAILY`` per day;
* per (number, client): ``MAX_PAIR_FAILURES`` per ``WINDOW``;
* per number, whoever asks: once ``MAX_NUMBER_FAILURES`` wrong answers were given
  within ``WINDOW``, every client that has already failed on that number waits, and
  any other client gets a single try for that number per window.

So guessing one number needs many client addresses (each one try per window), while
nobody can lock the applicant out: a client without failures on a number is never
refused because of other clients' failures, and the right answer then succeeds.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, List, Optional

import yaml
from sqlalchemy import delete, func, select

from .booking import mask_name, mask_phone
from .catalog import models
from .catalog.db import session_scope
from .config import CONTENT_DIR
from .throttle import Throttle

SAMPLE_FILE = CONTENT_DIR / "applications.yml"
NUMBER = re.compile(r"^[A-Z0-9]{6,32}$")
WINDOW = timedelta(minutes=15)
DAY = timedelta(days=1)
MAX_CLIENT_FAILURES = 5  # per client within WINDOW, across numbers
MAX_CLIENT_DAILY = 20  # per client within a day, across numbers
MAX_PAIR_FAILURES = 3  # per (number, client) within WINDOW
MAX_NUMBER_FAILURES = 10  # per number within WINDOW, whoever asks: then one try per new client


@dataclass(frozen=True)
class Step:
    at: datetime
    status: str
    note: Optional[str]


@dataclass(frozen=True)
class StatusView:
    number: str
    service_code: str
    name: str  # masked
    phone: str  # masked
    current: Step
    history: List[Step]
    sample: bool


@dataclass(frozen=True)
class LookupResult:
    outcome: str  # found | not_found | throttled | invalid
    view: Optional[StatusView] = None
    retry_after_minutes: int = 0

    @property
    def wait(self) -> str:
        """The wait in words: "15分钟", "3小时"."""
        m = self.retry_after_minutes
        return f"{m}分钟" if m < 60 else f"{-(-m // 60)}小时"


def normalise_number(raw: str) -> Optional[str]:
    number = re.sub(r"[\s\-－]", "", (raw or "")).upper()
    return number if NUMBER.match(number) else None


class StatusLookup:
    def __init__(self, db_url: str, now: Callable[[], datetime] = datetime.now):
        self.db_url = db_url
        self.now = now
        self.throttle = Throttle(db_url, now)

    @staticmethod
    def _keys(number: str, client: str) -> dict:
        return {"client": f"stclient:{client}", "daily": f"stday:{client}",
                "pair": f"stpair:{number}:{client}", "number": f"stnum:{number}"}

    def _wait(self, keys: dict) -> int:
        """Minutes this client waits for this number, or 0."""
        t = self.throttle
        over_cap = t.count(keys["number"], WINDOW) >= MAX_NUMBER_FAILURES
        checks = ((keys["client"], MAX_CLIENT_FAILURES, WINDOW), (keys["daily"], MAX_CLIENT_DAILY, DAY),
                  (keys["pair"], 1 if over_cap else MAX_PAIR_FAILURES, WINDOW))
        waits = [v.retry_after_minutes for v in (t.blocked(k, n, w) for k, n, w in checks) if not v.allowed]
        return max(waits, default=0)

    def lookup(self, raw_number: str, last4: str, client: str) -> LookupResult:
        """``client``: the channel's hashed client address (or the sender id)."""
        number = normalise_number(raw_number)
        digits = re.sub(r"\D", "", last4 or "")
        if number is None or len(digits) != 4:
            return LookupResult("invalid")
        keys = self._keys(number, (client or "unknown")[:100])
        wait = self._wait(keys)
        if wait:
            return LookupResult("throttled", retry_after_minutes=wait)
        with session_scope(self.db_url) as s:
            app = s.get(models.Application, number)
            # compare even when the number is unknown, so both cases take the same path
            stored = app.phone[-4:] if app is not None else "\0\0\0\0"
            matched = app is not None and hmac.compare_digest(stored.encode(), digits.encode())
            view = None
            if matched and app.events:
                steps = [Step(e.at, e.status, e.note) for e in app.events]
                view = StatusView(app.number, app.service_code, mask_name(app.applicant_name),
                                  mask_phone(app.phone), steps[-1], steps, app.sample)
        if not matched:
            for key, window in ((keys["client"], WINDOW), (keys["daily"], DAY), (keys["pair"], WINDOW),
                                (keys["number"], WINDOW)):
                self.throttle.hit(key, 1, window)
            return LookupResult("not_found")
        self.throttle.reset(keys["pair"])  # the right answer: this client's slips on this number are forgiven
        return LookupResult("found", view) if view else LookupResult("not_found")

    def purge(self, older_than: timedelta = timedelta(days=1)) -> int:
        """Delete old rows of the former per-conversation counter (``lookup_failures``, no
        longer written; the counts are in ``throttle_hits``, purged by ``Throttle.purge``)."""
        with session_scope(self.db_url) as s:
            res = s.execute(delete(models.LookupFailure).where(models.LookupFailure.at < self.now() - older_than))
            return res.rowcount or 0


class SampleError(ValueError):
    pass


def load_samples(db_url: str, path: Path = SAMPLE_FILE, services: Optional[set] = None) -> int:
    """Replace the sample applications with those in ``path``; returns how many."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    apps = data.get("applications")
    if not isinstance(apps, list):
        raise SampleError(f"{path}: applications: must be a list")
    rows = []
    for i, a in enumerate(apps):
        where = f"{path}: applications[{i}]"
        number = normalise_number(str(a.get("number", "")))
        if number is None:
            raise SampleError(f"{where}.number: 6-32 letters or digits")
        if services is not None and a.get("service") not in services:
            raise SampleError(f"{where}.service: unknown service {a.get('service')!r}")
        phone = str(a.get("phone", ""))
        if not re.fullmatch(r"1\d{10}", phone):
            raise SampleError(f"{where}.phone: an 11-digit mobile number")
        if not str(a.get("name", "")).strip():
            raise SampleError(f"{where}.name: is required")
        history = a.get("history")
        if not isinstance(history, list) or not history:
            raise SampleError(f"{where}.history: at least one step")
        events = []
        for j, h in enumerate(history):
            at = h.get("at")
            if isinstance(at, str):
                try:
                    at = datetime.strptime(at, "%Y-%m-%d %H:%M")
                except ValueError:
                    raise SampleError(f"{where}.history[{j}].at: \"YYYY-MM-DD HH:MM\"") from None
            if not isinstance(at, datetime) or not h.get("status"):
                raise SampleError(f"{where}.history[{j}]: at and status are required")
            events.append(models.ApplicationEvent(at=at, status=str(h["status"]), note=h.get("note"), position=j))
        rows.append(models.Application(number=number, service_code=a["service"], applicant_name=str(a["name"]),
                                       phone=phone, region_code=a.get("region"), sample=True, events=events))
    with session_scope(db_url) as s:
        sample_numbers = select(models.Application.number).where(models.Application.sample.is_(True))
        s.execute(delete(models.ApplicationEvent).where(models.ApplicationEvent.number.in_(sample_numbers))
                  .execution_options(synchronize_session=False))
        s.execute(delete(models.Application).where(models.Application.sample.is_(True))
                  .execution_options(synchronize_session=False))
        s.add_all(rows)
        s.flush()
        return s.execute(select(func.count()).select_from(models.Application)
                         .where(models.Application.sample.is_(True))).scalar_one()
