"""Marriage and divorce appointments (bot.booking): schedules, availability, booking,
view/cancel/reschedule with code + last four digits, and capacity under concurrency
on SQLite and on the local PostgreSQL server."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bot import booking
from bot.booking import BookingService, load_schedules
from bot.catalog import models
from bot.catalog.db import session_scope
from bot.catalog.migrate import upgrade

TODAY = date(2026, 11, 23)  # a Monday
OFFICE = "zhejiang-hangzhou-xihu-marriage"


@pytest.fixture
def db_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'booking.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def schedules(content):
    offices = [o.code for r, _ in content.regions for o in r.offices]
    return load_schedules(known_offices=offices)


def service(url, schedules, today=TODAY):
    return BookingService(url, schedules, today=lambda: today, now=lambda: datetime(2026, 11, 23, 10, 0))


def one_slot_schedule(capacity: int) -> dict:
    slot = booking.SlotTemplate("09:00", "10:00", capacity)
    return {OFFICE: booking.Schedule(OFFICE, ("marriage", "divorce"), (1, 2, 3, 4, 5), (slot,), (), 30, True)}


# -- schedules ----------------------------------------------------------------------------


def test_every_marriage_office_of_the_sample_cities_has_a_schedule(schedules):
    for office in ("zhejiang-hangzhou-xihu-marriage", "hunan-chenzhou-marriage", "liaoning-yingkou-marriage",
                   "hebei-qinhuangdao-marriage"):
        assert set(schedules[office].kinds) == {"marriage", "divorce"}
        assert schedules[office].sample, "slot sizes are not published anywhere: sample data"


@pytest.mark.parametrize("day,kind,expected", [
    (date(2026, 11, 25), "marriage", 4),   # Wednesday: the four default slots
    (date(2026, 11, 28), "marriage", 0),   # Saturday: closed
    (date(2026, 10, 1), "marriage", 0),    # National Day: closed
    (date(2026, 10, 10), "marriage", 4),   # Saturday worked in lieu: open
    (date(2026, 8, 19), "marriage", 4),    # 七夕 (a Wednesday) with its own capacity
    (date(2027, 8, 8), "marriage", 4),     # 七夕 on a Sunday: open anyway
    (date(2027, 8, 8), "divorce", 0),      # ... but not for divorces
    (date(2028, 5, 20), "marriage", 4),    # 5月20日 on a Saturday: open
])
def test_opening(schedules, day, kind, expected):
    slots = schedules[OFFICE].opening(day, kind)
    assert len(slots) == expected


def test_extra_demand_days_have_their_own_capacity(schedules):
    normal = schedules[OFFICE].opening(date(2026, 11, 25), "marriage")
    qixi = schedules[OFFICE].opening(date(2026, 8, 19), "marriage")
    assert {s.capacity for s in qixi} == {15} and {s.capacity for s in normal} == {6}
    assert schedules[OFFICE].special(date(2026, 8, 19), "marriage").label == "七夕"


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["offices"][0].update(office="no-such-office"), "offices.0.office"),
    (lambda d: d["defaults"]["slots"][1].update(start="25:00"), "offices.0.slots.1.start"),
    (lambda d: d["defaults"]["slots"][0].update(end="08:00"), "offices.0.slots.0.end"),
    (lambda d: d["defaults"]["slots"][0].update(capacity=0), "offices.0.slots.0.capacity"),
    (lambda d: d["defaults"]["special_days"][0].update(rule="May 20"), "offices.0.special_days.0.rule"),
    (lambda d: d["offices"][1].update(weekdays=[0, 8]), "offices.1.weekdays"),
    (lambda d: d["offices"][2].update(kinds=["funeral"]), "offices.2.kinds"),
    (lambda d: d["offices"].append(dict(d["offices"][0])), "offices.5.office"),
])
def test_broken_schedules_name_file_and_field(tmp_path, content, mutate, field):
    data = yaml.safe_load(booking.BOOKING_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "booking.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    offices = [OFFICE, "zhejiang-hangzhou-marriage", "hunan-chenzhou-marriage", "liaoning-yingkou-marriage",
               "hebei-qinhuangdao-marriage"]
    with pytest.raises(booking.ScheduleError) as err:
        load_schedules(path, known_offices=offices)
    assert str(path) in str(err.value) and field in str(err.value)


# -- availability and booking ---------------------------------------------------------------


def test_availability_starts_tomorrow_and_skips_closed_days(db_url, schedules):
    days = service(db_url, schedules).availability(OFFICE, "marriage", days=6)
    assert [d.day for d in days] == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26),
                                     date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 1)]
    assert all(d.free == 24 for d in days)


def test_book_find_and_mask(db_url, schedules):
    svc = service(db_url, schedules)
    res = svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "张三", "138 0013 1234")
    assert res.ok and len(res.booking.code) == 8
    assert set(res.booking.code) <= set(booking.CODE_ALPHABET)
    assert res.booking.name == "张*" and res.booking.phone == "138****1234"
    found = svc.find(res.booking.code.lower(), "1234")
    assert found == res.booking
    assert svc.day(OFFICE, "marriage", date(2026, 11, 25)).slots[0].booked == 1


@pytest.mark.parametrize("code_change,last4", [(False, "4321"), (True, "1234"), (False, ""), (False, "12345")])
def test_wrong_pairs_look_like_unknown_codes(db_url, schedules, code_change, last4):
    svc = service(db_url, schedules)
    res = svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "李四", "13900001234")
    code = "ZZZZZZZZ" if code_change else res.booking.code
    assert svc.find(code, last4) is None
    assert svc.cancel(code, last4).reason == "not_found"


@pytest.mark.parametrize("day,start,reason", [
    (date(2026, 11, 23), "09:00", "out_of_range"),   # today: from tomorrow on
    (date(2026, 11, 20), "09:00", "out_of_range"),   # the past
    (date(2027, 1, 20), "09:00", "out_of_range"),    # beyond 30 days
    (date(2026, 11, 28), "09:00", "closed"),         # Saturday
    (date(2026, 11, 25), "12:00", "closed"),         # no such slot
])
def test_refusals(db_url, schedules, day, start, reason):
    assert service(db_url, schedules).book(OFFICE, "marriage", day, start, "王五", "13700001111").reason == reason


@pytest.mark.parametrize("name,phone,reason", [
    ("王五", "12345", "bad_phone"), ("王五", "23800001111", "bad_phone"), ("", "13700001111", "bad_name"),
])
def test_bad_details(db_url, schedules, name, phone, reason):
    res = service(db_url, schedules).book(OFFICE, "marriage", date(2026, 11, 25), "09:00", name, phone)
    assert res.reason == reason


def test_a_full_slot_offers_alternatives(db_url):
    svc = service(db_url, one_slot_schedule(2))
    for i in range(2):
        assert svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", f"甲{i}", f"1380000000{i}").ok
    res = svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "乙", "13800000009")
    assert res.reason == "full"
    assert res.alternatives and res.alternatives[0].day == date(2026, 11, 26)
    # the divorce slots of the same time are separate
    assert svc.book(OFFICE, "divorce", date(2026, 11, 25), "09:00", "丙", "13800000008").ok


def test_cancel_frees_the_place(db_url):
    svc = service(db_url, one_slot_schedule(1))
    first = svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "甲", "13800000001")
    assert svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "乙", "13800000002").reason == "full"
    res = svc.cancel(first.booking.code, "0001")
    assert res.ok and res.booking.status == "cancelled"
    assert svc.cancel(first.booking.code, "0001").reason == "not_found"  # not twice
    assert svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "乙", "13800000002").ok


def test_reschedule_moves_and_frees(db_url):
    svc = service(db_url, one_slot_schedule(1))
    b = svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "甲", "13800000001").booking
    moved = svc.reschedule(b.code, "0001", date(2026, 11, 26), "09:00")
    assert moved.ok and moved.booking.day == date(2026, 11, 26) and moved.booking.code == b.code
    assert svc.day(OFFICE, "marriage", date(2026, 11, 25)).slots[0].booked == 0
    # to a full slot: refused, the booking stays where it was
    svc.book(OFFICE, "marriage", date(2026, 11, 27), "09:00", "乙", "13800000002")
    res = svc.reschedule(b.code, "0001", date(2026, 11, 27), "09:00")
    assert res.reason == "full"
    assert svc.find(b.code, "0001").day == date(2026, 11, 26)
    assert svc.reschedule(b.code, "9999", date(2026, 11, 30), "09:00").reason == "not_found"


def test_the_database_refuses_overbooking_on_its_own(db_url):
    svc = service(db_url, one_slot_schedule(1))
    svc.book(OFFICE, "marriage", date(2026, 11, 25), "09:00", "甲", "13800000001")
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            s.execute(update(models.BookingSlot).values(booked=models.BookingSlot.booked + 1))


def test_the_same_request_made_again_gets_the_first_booking(db_url):
    """A turn the gateway sends again (its Rasa replica died after the booking was
    written) carries the same turn id: one booking, one place taken."""
    svc = service(db_url, one_slot_schedule(3))
    day = date(2026, 11, 25)
    key = booking.request_key("web-abc", "turn-1")
    first = svc.book(OFFICE, "marriage", day, "09:00", "张三", "13800131234", request_key=key)
    again = svc.book(OFFICE, "marriage", day, "09:00", "张三", "13800131234", request_key=key)
    assert first.ok and again.ok and again.booking == first.booking
    assert svc.day(OFFICE, "marriage", day).slots[0].booked == 1
    # another turn, or another conversation with the same turn id, is another request
    other = svc.book(OFFICE, "marriage", day, "09:00", "张三", "13800131234",
                     request_key=booking.request_key("web-abc", "turn-2"))
    elsewhere = svc.book(OFFICE, "marriage", day, "09:00", "李四", "13900131234",
                         request_key=booking.request_key("web-xyz", "turn-1"))
    assert other.ok and elsewhere.ok
    assert len({first.booking.code, other.booking.code, elsewhere.booking.code}) == 3
    assert svc.day(OFFICE, "marriage", day).slots[0].booked == 3


def test_request_keys_hide_the_conversation_and_need_a_turn():
    key = booking.request_key("telegram-123456", "t1")
    assert len(key) == 64 and "123456" not in key
    assert booking.request_key("telegram-123456", "") is None


# -- concurrency ----------------------------------------------------------------------------------


def _storm(url: str, n: int = 60, capacity: int = 5):
    svc = service(url, one_slot_schedule(capacity))
    day = date(2026, 11, 25)
    svc.day(OFFICE, "marriage", day)  # the slot row exists before the storm (creation is tested apart)
    barrier = threading.Barrier(n)

    def attempt(i: int):
        barrier.wait()
        return svc.book(OFFICE, "marriage", day, "09:00", f"申请人{i}", f"139{i:08d}")

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(attempt, range(n)))
    with session_scope(url) as s:
        slot = s.execute(select(models.BookingSlot).where(models.BookingSlot.day == day)).scalar_one()
        booked = slot.booked
        rows = s.execute(select(func.count()).select_from(models.Booking)
                         .where(models.Booking.slot_id == slot.id)).scalar_one()
    return results, booked, rows


def test_concurrent_bookings_sqlite(db_url):
    results, booked, rows = _storm(db_url)
    ok = [r for r in results if r.ok]
    assert len(ok) == 5 and booked == 5 and rows == 5
    assert {r.reason for r in results if not r.ok} <= {"full", "busy"}
    assert len({r.booking.code for r in ok}) == 5


@pytest.mark.postgres
def test_concurrent_bookings_postgres(pg_url):
    results, booked, rows = _storm(pg_url)
    assert [r.ok for r in results].count(True) == 5 and booked == 5 and rows == 5
    assert {r.reason for r in results if not r.ok} == {"full"}


def _same_request_storm(url: str, n: int = 12):
    svc = service(url, one_slot_schedule(5))
    day = date(2026, 11, 25)
    svc.day(OFFICE, "marriage", day)
    key = booking.request_key("web-abc", "turn-1")
    barrier = threading.Barrier(n)

    def attempt(_):
        barrier.wait()
        return svc.book(OFFICE, "marriage", day, "09:00", "张三", "13800131234", request_key=key)

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(attempt, range(n)))
    return results, svc.day(OFFICE, "marriage", day).slots[0].booked


def test_the_same_request_at_the_same_moment_books_once_sqlite(db_url):
    results, booked = _same_request_storm(db_url)
    assert booked == 1
    assert len({r.booking.code for r in results if r.ok}) == 1
    assert {r.reason for r in results if not r.ok} <= {"busy"}


@pytest.mark.postgres
def test_the_same_request_at_the_same_moment_books_once_postgres(pg_url):
    results, booked = _same_request_storm(pg_url)
    assert booked == 1 and all(r.ok for r in results)
    assert len({r.booking.code for r in results}) == 1


@pytest.mark.postgres
def test_concurrent_slot_creation_postgres(pg_url):
    svc = service(pg_url, one_slot_schedule(5))
    barrier = threading.Barrier(20)

    def first_view(_):
        barrier.wait()
        return svc.day(OFFICE, "marriage", date(2026, 11, 26))

    with ThreadPoolExecutor(max_workers=20) as pool:
        views = list(pool.map(first_view, range(20)))
    assert all(v is not None and len(v.slots) == 1 for v in views)
    with session_scope(pg_url) as s:
        assert s.execute(select(func.count()).select_from(models.BookingSlot)).scalar_one() == 1


def test_booking_file_exists():
    assert Path(booking.BOOKING_FILE).exists()
