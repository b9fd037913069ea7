"""Application status lookup (办件进度查询).

A citizen gives the application number and the last four digits of the phone number
on the application. The answer shows the current step and the history with personal
data masked (张*, 138****1234). A wrong pair gets exactly the same answer as an
unknown number, and failures are throttled per conversation and per application
number (so that changing conversations does not allow guessing), counted in the
database so that every action-server worker sees them.
"""
from __future__ import annotations

import hmac
import math
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

SAMPLE_FILE = CONTENT_DIR / "applications.yml"
NUMBER = re.compile(r"^[A-Z0-9]{6,32}$")
MAX_FAILURES = 3  # per conversation within WINDOW
MAX_NUMBER_FAILURES = 10  # per application number within WINDOW, whoever asks
WINDOW = timedelta(minutes=15)


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


def normalise_number(raw: str) -> Optional[str]:
    number = re.sub(r"[\s\-－]", "", (raw or "")).upper()
    return number if NUMBER.match(number) else None


class StatusLookup:
    def __init__(self, db_url: str, now: Callable[[], datetime] = datetime.now):
        self.db_url = db_url
        self.now = now

    def _recent_failures(self, s, key: str) -> List[datetime]:
        since = self.now() - WINDOW
        return list(s.execute(select(models.LookupFailure.at).where(
            models.LookupFailure.conversation == key, models.LookupFailure.at > since)).scalars())

    def _throttled(self, s, conversation: str, number: str) -> int:
        """Minutes to wait, or 0."""
        waits = []
        for key, limit in ((f"conv:{conversation}", MAX_FAILURES), (f"num:{number}", MAX_NUMBER_FAILURES)):
            times = self._recent_failures(s, key)
            if len(times) >= limit:
                oldest_counted = sorted(times)[-limit]
                waits.append(oldest_counted + WINDOW - self.now())
        if not waits:
            return 0
        return max(1, math.ceil(max(waits).total_seconds() / 60))

    def lookup(self, raw_number: str, last4: str, conversation: str) -> LookupResult:
        number = normalise_number(raw_number)
        digits = re.sub(r"\D", "", last4 or "")
        if number is None or len(digits) != 4:
            return LookupResult("invalid")
        with session_scope(self.db_url) as s:
            wait = self._throttled(s, conversation, number)
            if wait:
                return LookupResult("throttled", retry_after_minutes=wait)
            app = s.get(models.Application, number)
            # compare even when the number is unknown, so both cases take the same path
            stored = app.phone[-4:] if app is not None else "\0\0\0\0"
            if app is None or not hmac.compare_digest(stored.encode(), digits.encode()):
                now = self.now()
                s.add(models.LookupFailure(conversation=f"conv:{conversation}", at=now))
                s.add(models.LookupFailure(conversation=f"num:{number}", at=now))
                return LookupResult("not_found")
            s.execute(delete(models.LookupFailure).where(models.LookupFailure.conversation == f"conv:{conversation}"))
            steps = [Step(e.at, e.status, e.note) for e in app.events]
            if not steps:
                return LookupResult("not_found")
            view = StatusView(app.number, app.service_code, mask_name(app.applicant_name), mask_phone(app.phone),
                              steps[-1], steps, app.sample)
            return LookupResult("found", view)

    def purge(self, older_than: timedelta = timedelta(days=1)) -> int:
        """Delete old failure records (run daily); returns how many."""
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
