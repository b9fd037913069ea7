"""Marriage and divorce registration appointments.

Schedules (which days, which slots, how many couples per slot, extra-demand days
such as 5月20日 and 七夕) are content in ``bot/content/booking.yml``; slots become
rows of ``booking_slots`` when first shown. A place is taken with one conditional
UPDATE (``booked = booked + 1 WHERE booked < capacity``) and the table has a CHECK
constraint ``booked <= capacity``: no slot is ever overbooked, whatever the number of
action-server workers or concurrent requests, on SQLite and on PostgreSQL.

A booking is found again with its confirmation code plus the last four digits of the
phone number; a wrong pair gets the same answer as an unknown code. Wrong answers are
limited per code and per client, and a code's self-service is locked after repeated
failures (``bot.booking_guard``).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from . import workdays
from .booking_guard import Access, CodeGuard
from .catalog import models
from .catalog.db import session_scope
from .config import CONTENT_DIR

BOOKING_FILE = CONTENT_DIR / "booking.yml"
KINDS = ("marriage", "divorce")  # as bot.catalog.schema.BOOKING_KINDS
KIND_NAMES = {"marriage": "结婚登记", "divorce": "离婚登记"}
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 8
_PHONE = re.compile(r"^1\d{10}$")


class ScheduleError(ValueError):
    """Bad content in booking.yml; the message names the file and the field."""


@dataclass(frozen=True)
class SlotTemplate:
    start: str
    end: str
    capacity: int


@dataclass(frozen=True)
class SpecialDay:
    rule: str
    label: str
    capacity: int
    kinds: tuple

    def matches(self, day: date) -> bool:
        if self.rule == "qixi":
            return day == workdays.qixi(day.year)
        if len(self.rule) == 5:
            return day.strftime("%m-%d") == self.rule
        return day.isoformat() == self.rule


@dataclass(frozen=True)
class Schedule:
    office: str
    kinds: tuple
    weekdays: tuple
    slots: tuple
    special_days: tuple
    horizon_days: int
    sample: bool

    def special(self, day: date, kind: str) -> Optional[SpecialDay]:
        for sd in self.special_days:
            if kind in sd.kinds and sd.matches(day):
                return sd
        return None

    def opening(self, day: date, kind: str) -> List[SlotTemplate]:
        """The slots offered for ``kind`` on ``day`` (empty when closed)."""
        if kind not in self.kinds:
            return []
        sd = self.special(day, kind)
        if sd is not None:
            return [SlotTemplate(t.start, t.end, sd.capacity) for t in self.slots]
        if workdays.is_public_holiday(day):
            return []
        worked_in_lieu = day.weekday() >= 5 and workdays.is_workday(day)
        if day.isoweekday() in self.weekdays or worked_in_lieu:
            return list(self.slots)
        return []


def check_schedules(data, shown: str, problems: List[str], refs=None) -> Optional[Dict[str, Schedule]]:
    """Validate booking.yml's mapping (``bot.catalog.schema.BookingFile`` after the ``defaults``
    are applied to each office); ``refs``: the catalogue's codes (offices must exist).
    Problems are appended as ``file: field: message``; returns the schedules or None."""
    from .catalog.schema import BookingFile, OfficeSchedule
    from .catalog.validate import parse

    start = len(problems)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(f"{shown}: defaults: expected a mapping")
        return None
    problems.extend(f"{shown}: defaults.{k}: unknown field" for k in defaults
                    if k not in OfficeSchedule.__fields__ or k == "office")
    problems.extend(f"{shown}: {k}: unknown field" for k in data if k not in ("defaults", "offices"))
    offices = data.get("offices")
    merged = offices
    if isinstance(offices, list):
        merged = [{**defaults, **o} if isinstance(o, dict) else o for o in offices]
    parsed = parse(BookingFile, {"offices": merged}, shown, problems)
    if parsed is None:
        return None
    out: Dict[str, Schedule] = {}
    for i, o in enumerate(parsed.offices):
        where = f"{shown}: offices.{i}"
        if refs is not None:
            refs.check(f"{where}.office", "office", o.office, problems)
        if o.office in out:
            problems.append(f"{where}.office: {o.office!r} appears twice")
        for j, slot in enumerate(o.slots):
            if slot.end <= slot.start:
                problems.append(f"{where}.slots.{j}.end: must be after start")
        starts = [slot.start for slot in o.slots]
        if len(set(starts)) != len(starts):
            problems.append(f"{where}.slots: two slots start at the same time")
        out[o.office] = Schedule(
            office=o.office, kinds=tuple(o.kinds), weekdays=tuple(o.weekdays),
            slots=tuple(sorted((SlotTemplate(t.start, t.end, t.capacity) for t in o.slots), key=lambda t: t.start)),
            special_days=tuple(SpecialDay(d.rule, d.label, d.capacity, tuple(d.kinds)) for d in o.special_days),
            horizon_days=o.horizon_days, sample=o.sample,
        )
    return out if len(problems) == start else None


def load_schedules(path: Path = BOOKING_FILE, known_offices: Optional[Sequence[str]] = None) -> Dict[str, Schedule]:
    """Read and validate booking.yml. ``known_offices``: the catalogue's office codes."""
    from .catalog.validate import References, read_yaml

    problems: List[str] = []
    data = read_yaml(path, str(path), problems)
    refs = References(office=known_offices) if known_offices is not None else None
    schedules = check_schedules(data, str(path), problems, refs) if data is not None else None
    if schedules is None:
        raise ScheduleError(problems[0])
    return schedules


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotView:
    start: str
    end: str
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)


@dataclass(frozen=True)
class DayView:
    day: date
    label: Optional[str]  # "5月20日", "七夕" on extra-demand days
    slots: List[SlotView]

    @property
    def free(self) -> int:
        return sum(s.free for s in self.slots)


@dataclass(frozen=True)
class BookingView:
    code: str
    office: str
    kind: str
    day: date
    start: str
    end: str
    name: str  # masked
    phone: str  # masked
    status: str
    sample: bool


@dataclass(frozen=True)
class BookingResult:
    ok: bool
    # full | closed | out_of_range | unknown_office | bad_phone | bad_name | not_found | busy,
    # locked | throttled (self-service attempt limits, bot.booking_guard)
    reason: Optional[str] = None
    booking: Optional[BookingView] = None
    alternatives: List[DayView] = field(default_factory=list)


def mask_name(name: str) -> str:
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


def normalise_phone(raw: str) -> Optional[str]:
    digits = re.sub(r"[\s\-－]", "", raw or "")
    digits = digits[3:] if digits.startswith("+86") else digits
    return digits if _PHONE.match(digits) else None


def request_key(conversation: str, turn: str) -> Optional[str]:
    """The idempotency key of a booking made in turn ``turn`` of ``conversation`` (a hash:
    the sender id stays out of the bookings table); None without a turn id."""
    if not turn:
        return None
    return hashlib.sha256(f"{conversation}\0{turn}".encode()).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class BookingService:
    def __init__(self, db_url: str, schedules: Optional[Dict[str, Schedule]] = None,
                 today: Callable[[], date] = date.today, now: Callable[[], datetime] = datetime.now):
        self.db_url = db_url
        self.schedules = schedules if schedules is not None else load_schedules()
        self.today = today
        self.now = now

    # -- availability --------------------------------------------------------------------
    def bookable_days(self, office: str) -> List[date]:
        sched = self.schedules.get(office)
        if sched is None:
            return []
        first = self.today() + timedelta(days=1)
        return [first + timedelta(days=i) for i in range(sched.horizon_days)]

    def _ensure_slots(self, office: str, kind: str, day: date) -> None:
        """Create the day's slot rows if missing (idempotent, safe under concurrency)."""
        templates = self.schedules[office].opening(day, kind)
        if not templates:
            return
        with session_scope(self.db_url) as s:
            existing = set(s.execute(
                select(models.BookingSlot.start_time).where(
                    models.BookingSlot.office_code == office, models.BookingSlot.kind == kind,
                    models.BookingSlot.day == day)
            ).scalars())
        for t in templates:
            if t.start in existing:
                continue
            try:
                with session_scope(self.db_url) as s:
                    s.add(models.BookingSlot(office_code=office, kind=kind, day=day, start_time=t.start,
                                             end_time=t.end, capacity=t.capacity, booked=0))
            except IntegrityError:
                pass  # created meanwhile by another request

    def day(self, office: str, kind: str, day: date) -> Optional[DayView]:
        sched = self.schedules.get(office)
        if sched is None or not sched.opening(day, kind):
            return None
        self._ensure_slots(office, kind, day)
        with session_scope(self.db_url) as s:
            rows = s.execute(
                select(models.BookingSlot).where(
                    models.BookingSlot.office_code == office, models.BookingSlot.kind == kind,
                    models.BookingSlot.day == day).order_by(models.BookingSlot.start_time)
            ).scalars().all()
            slots = [SlotView(r.start_time, r.end_time, r.capacity, r.booked) for r in rows]
        sd = sched.special(day, kind)
        return DayView(day, sd.label if sd else None, slots)

    def availability(self, office: str, kind: str, start: Optional[date] = None, days: int = 7) -> List[DayView]:
        """Open days with at least one free place, from ``start`` (default tomorrow)."""
        out = []
        for d in self.bookable_days(office):
            if start and d < start:
                continue
            view = self.day(office, kind, d)
            if view and view.free > 0:
                out.append(view)
            if len(out) >= days:
                break
        return out

    # -- booking ---------------------------------------------------------------------------
    def _check(self, office: str, kind: str, day: date, start: str) -> Optional[str]:
        sched = self.schedules.get(office)
        if sched is None or kind not in sched.kinds:
            return "unknown_office"
        if day not in self.bookable_days(office):
            return "out_of_range"
        if start not in {t.start for t in sched.opening(day, kind)}:
            return "closed"
        return None

    def _take(self, s, office: str, kind: str, day: date, start: str) -> Optional[int]:
        """Take one place in one statement; the slot id, or None when full."""
        cond = and_(models.BookingSlot.office_code == office, models.BookingSlot.kind == kind,
                    models.BookingSlot.day == day, models.BookingSlot.start_time == start,
                    models.BookingSlot.booked < models.BookingSlot.capacity)
        res = s.execute(update(models.BookingSlot).where(cond)
                        .values(booked=models.BookingSlot.booked + 1)
                        .execution_options(synchronize_session=False))
        if res.rowcount != 1:
            return None
        return s.execute(select(models.BookingSlot.id).where(
            models.BookingSlot.office_code == office, models.BookingSlot.kind == kind,
            models.BookingSlot.day == day, models.BookingSlot.start_time == start)).scalar_one()

    def _view(self, booking: models.Booking, slot: models.BookingSlot) -> BookingView:
        return BookingView(booking.code, slot.office_code, slot.kind, slot.day, slot.start_time, slot.end_time,
                           mask_name(booking.name), mask_phone(booking.phone), booking.status,
                           self.schedules[slot.office_code].sample if slot.office_code in self.schedules else True)

    def _by_key(self, request_key: Optional[str]) -> Optional[BookingView]:
        if not request_key:
            return None
        with session_scope(self.db_url) as s:
            booking = s.execute(select(models.Booking).where(models.Booking.request_key == request_key)).scalar()
            return self._view(booking, s.get(models.BookingSlot, booking.slot_id)) if booking else None

    def book(self, office: str, kind: str, day: date, start: str, name: str, phone: str,
             request_key: Optional[str] = None) -> BookingResult:
        """Book a slot. ``request_key`` (see ``request_key``) makes it idempotent: the same
        request made again (a turn the gateway sent a second time) gets the booking it
        made the first time, not a second slot."""
        earlier = self._by_key(request_key)
        if earlier is not None:
            return BookingResult(True, booking=earlier)
        phone_n = normalise_phone(phone)
        if phone_n is None:
            return BookingResult(False, "bad_phone")
        name = (name or "").strip()
        if not 1 <= len(name) <= 32:
            return BookingResult(False, "bad_name")
        problem = self._check(office, kind, day, start)
        if problem:
            return BookingResult(False, problem)
        self._ensure_slots(office, kind, day)
        for _ in range(5):
            code = _new_code()
            try:
                with session_scope(self.db_url) as s:
                    slot_id = self._take(s, office, kind, day, start)
                    if slot_id is None:
                        s.rollback()
                        return BookingResult(False, "full", alternatives=self.availability(office, kind, day, 3))
                    booking = models.Booking(code=code, slot_id=slot_id, name=name, phone=phone_n,
                                             status="booked", created_at=self.now(), request_key=request_key or None)
                    s.add(booking)
                    s.flush()
                    view = self._view(booking, s.get(models.BookingSlot, slot_id))
                return BookingResult(True, booking=view)
            except IntegrityError:
                earlier = self._by_key(request_key)  # the same request, made at the same moment
                if earlier is not None:
                    return BookingResult(True, booking=earlier)
                continue  # confirmation code collision (or a CHECK refusal): try again
            except OperationalError:
                # SQLite: the database stayed locked beyond the timeout; PostgreSQL: a deadlock
                return BookingResult(False, "busy")
        return BookingResult(False, "busy")

    @staticmethod
    def _normal(code: str, last4: str) -> Optional[tuple]:
        code = (code or "").strip().upper()
        last4 = re.sub(r"\D", "", last4 or "")
        if len(code) != CODE_LENGTH or len(last4) != 4:
            return None
        return code, last4

    def _load(self, s, code: str, last4: str):
        pair = self._normal(code, last4)
        if pair is None:
            return None
        booking = s.get(models.Booking, pair[0])
        if booking is None or not _same(booking.phone[-4:], pair[1]):
            return None
        return booking

    def _find(self, code: str, last4: str) -> Optional[BookingView]:
        with session_scope(self.db_url) as s:
            booking = self._load(s, code, last4)
            if booking is None:
                return None
            return self._view(booking, s.get(models.BookingSlot, booking.slot_id))

    def guard(self) -> CodeGuard:
        return CodeGuard(self.db_url, self.now)

    def access(self, code: str, last4: str, client: Optional[str] = None) -> Access[BookingView]:
        """Self-service check of code + last four digits, within the attempt limits:
        ``ok`` (with the booking), ``not_found``, ``locked`` (too many wrong answers
        for this code: the office can help) or ``throttled`` (this client: wait)."""
        pair = self._normal(code, last4)
        if pair is None:
            return Access("not_found")  # not an answer at all: nothing to count
        return self.guard().check(pair[0], pair[1], client, lambda: self._find(*pair))

    def find(self, code: str, last4: str, client: Optional[str] = None) -> Optional[BookingView]:
        return self.access(code, last4, client).value

    def unlock(self, code: str) -> None:
        """Lift a self-service lock (the office, after checking the citizen's identity)."""
        self.guard().unlock((code or "").strip().upper())

    def cancel(self, code: str, last4: str, client: Optional[str] = None) -> BookingResult:
        checked = self.access(code, last4, client)
        if not checked.ok:
            return BookingResult(False, checked.outcome)
        with session_scope(self.db_url) as s:
            booking = self._load(s, code, last4)
            if booking is None or booking.status != "booked":
                return BookingResult(False, "not_found")
            done = s.execute(update(models.Booking).where(models.Booking.code == booking.code,
                                                          models.Booking.status == "booked")
                             .values(status="cancelled").execution_options(synchronize_session=False))
            if done.rowcount != 1:
                return BookingResult(False, "not_found")
            s.execute(update(models.BookingSlot).where(models.BookingSlot.id == booking.slot_id,
                                                       models.BookingSlot.booked > 0)
                      .values(booked=models.BookingSlot.booked - 1).execution_options(synchronize_session=False))
            s.expire_all()
            booking = s.get(models.Booking, booking.code)
            return BookingResult(True, booking=self._view(booking, s.get(models.BookingSlot, booking.slot_id)))

    def reschedule(self, code: str, last4: str, day: date, start: str,
                   client: Optional[str] = None) -> BookingResult:
        checked = self.access(code, last4, client)
        if not checked.ok:
            return BookingResult(False, checked.outcome)
        with session_scope(self.db_url) as s:
            booking = self._load(s, code, last4)
            if booking is None or booking.status != "booked":
                return BookingResult(False, "not_found")
            old = s.get(models.BookingSlot, booking.slot_id)
            office, kind = old.office_code, old.kind
            old_id = old.id
        problem = self._check(office, kind, day, start)
        if problem:
            return BookingResult(False, problem)
        self._ensure_slots(office, kind, day)
        try:
            with session_scope(self.db_url) as s:
                new_id = self._take(s, office, kind, day, start)
                if new_id is None:
                    s.rollback()
                    return BookingResult(False, "full", alternatives=self.availability(office, kind, day, 3))
                moved = s.execute(update(models.Booking).where(models.Booking.code == booking.code,
                                                               models.Booking.status == "booked",
                                                               models.Booking.slot_id == old_id)
                                  .values(slot_id=new_id).execution_options(synchronize_session=False))
                if moved.rowcount != 1:  # cancelled or moved meanwhile
                    s.rollback()
                    return BookingResult(False, "not_found")
                s.execute(update(models.BookingSlot).where(models.BookingSlot.id == old_id,
                                                           models.BookingSlot.booked > 0)
                          .values(booked=models.BookingSlot.booked - 1)
                          .execution_options(synchronize_session=False))
                s.expire_all()
                b = s.get(models.Booking, booking.code)
                return BookingResult(True, booking=self._view(b, s.get(models.BookingSlot, new_id)))
        except OperationalError:
            return BookingResult(False, "busy")
