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


def check_samples(data, shown: str, problems: List[str], refs=None) -> Optional[list]:
    """Validate applications.yml's mapping (``bot.catalog.schema.ApplicationsFile``); ``refs``:
    the catalogue's codes (services and regions must exist). Returns the rows or None."""
    from .catalog.schema import ApplicationsFile
    from .catalog.validate import parse

    start = len(problems)
    parsed = parse(ApplicationsFile, data, shown, problems)
    if parsed is None:
        return None
    rows = []
    for i, a in enumerate(parsed.applications):
        if refs is not None:
            refs.check(f"{shown}: applications.{i}.service", "service", a.service, problems)
            refs.check(f"{shown}: applications.{i}.region", "region", a.region, problems)
        events = [models.ApplicationEvent(at=h.at, status=h.status, note=h.note, position=j)
                  for j, h in enumerate(a.history)]
        rows.append(models.Application(number=a.number, service_code=a.service, applicant_name=a.name,
                                       phone=a.phone, region_code=a.region, sample=True, events=events))
    return rows if len(problems) == start else None


def load_samples(db_url: str, path: Path = SAMPLE_FILE, services: Optional[set] = None) -> int:
    """Replace the sample applications with those in ``path``; returns how many."""
    from .catalog.validate import References, read_yaml

    problems: List[str] = []
    data = read_yaml(path, str(path), problems)
    refs = References(service=services) if services is not None else None  # regions: `catalog check`
    rows = check_samples(data, str(path), problems, refs) if data is not None else None
    if rows is None:
        raise SampleError(problems[0])
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
