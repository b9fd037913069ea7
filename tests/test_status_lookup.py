"""Application status lookup: masking, neutral answers, throttling per client (never
locking out the applicant), sample data loading."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import yaml

from bot import status_lookup
from bot.catalog.migrate import upgrade
from bot.status_lookup import StatusLookup, load_samples


class Clock:
    def __init__(self):
        self.t = datetime(2026, 11, 25, 10, 0)

    def __call__(self):
        return self.t


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'status.db'}"
    upgrade(url)
    assert load_samples(url) == 3
    return url


@pytest.fixture
def clock():
    return Clock()


def test_found_with_masked_personal_data(db, clock):
    res = StatusLookup(db, clock).lookup("cz2026100023", "1111", "conv-1")
    assert res.outcome == "found"
    v = res.view
    assert v.name == "李**" and v.phone == "139****1111"
    assert v.service_code == "assistance.dibao"
    assert v.current.status == "已办结" and [s.status for s in v.history][:2] == ["已受理", "入户调查"]
    assert v.sample
    assert "李小红" not in repr(v) and "13973501111" not in repr(v)


@pytest.mark.parametrize("number,last4", [
    ("CZ2026100023", "2222"),   # wrong phone
    ("CZ2026100024", "1111"),   # unknown number
    ("HZ2026110001", "1111"),   # another person's digits
])
def test_wrong_pairs_and_unknown_numbers_get_the_same_answer(db, clock, number, last4):
    res = StatusLookup(db, clock).lookup(number, last4, "conv-2")
    assert res == status_lookup.LookupResult("not_found")


@pytest.mark.parametrize("number,last4", [("", "1111"), ("CZ2026100023", "11"), ("<script>", "1111"),
                                          ("CZ2026100023", "abcd")])
def test_invalid_input(db, clock, number, last4):
    assert StatusLookup(db, clock).lookup(number, last4, "conv-3").outcome == "invalid"


def test_spaces_and_lower_case_are_accepted(db, clock):
    assert StatusLookup(db, clock).lookup(" hz 2026-110001 ", "1 2 3 4", "c").outcome == "found"


def test_repeated_failures_are_throttled_per_client(db, clock):
    lookup = StatusLookup(db, clock)
    for _ in range(status_lookup.MAX_PAIR_FAILURES):
        assert lookup.lookup("HZ2026110001", "0000", "attacker").outcome == "not_found"
    # now even the right pair is refused for this client...
    res = lookup.lookup("HZ2026110001", "1234", "attacker")
    assert res.outcome == "throttled" and 1 <= res.retry_after_minutes <= 15
    # ...but not for another one
    assert lookup.lookup("CZ2026100023", "1111", "someone-else").outcome == "found"
    # and the window passes
    clock.t += status_lookup.WINDOW + timedelta(seconds=1)
    assert lookup.lookup("HZ2026110001", "1234", "attacker").outcome == "found"


def test_one_client_guessing_across_numbers_hits_the_client_limit(db, clock):
    lookup = StatusLookup(db, clock)
    numbers = ["HZ2026110001", "CZ2026100023", "ZZ0000000001", "ZZ0000000002", "ZZ0000000003"]
    for n in numbers[:status_lookup.MAX_CLIENT_FAILURES]:
        assert lookup.lookup(n, "0000", "c:attacker").outcome == "not_found"
    assert lookup.lookup("CZ2026100023", "1111", "c:attacker").outcome == "throttled"


def test_the_daily_client_limit_outlasts_the_short_window(db, clock):
    lookup = StatusLookup(db, clock)
    tries = 0
    while tries < status_lookup.MAX_CLIENT_DAILY:
        res = lookup.lookup(f"ZZ{tries:010d}", "0000", "c:patient")
        if res.outcome == "throttled":
            clock.t += status_lookup.WINDOW  # wait out the short window
            continue
        tries += 1
    clock.t += status_lookup.WINDOW
    res = lookup.lookup("CZ2026100023", "1111", "c:patient")
    assert res.outcome == "throttled" and res.retry_after_minutes > 15
    assert res.wait.endswith("小时")


def test_failures_from_many_clients_never_lock_out_the_owner(db, clock):
    lookup = StatusLookup(db, clock)
    for i in range(3 * status_lookup.MAX_NUMBER_FAILURES):
        lookup.lookup("HZ2026110001", f"{i:04d}", f"c:attacker-{i % 7}")
    # the applicant, from an address without failures on this number, gives the right answer
    assert lookup.lookup("HZ2026110001", "1234", "c:owner").outcome == "found"


def test_a_number_under_attack_gives_each_new_client_one_try(db, clock):
    lookup = StatusLookup(db, clock)
    for i in range(status_lookup.MAX_NUMBER_FAILURES):
        assert lookup.lookup("HZ2026110001", f"{i:04d}", f"c:attacker-{i}").outcome == "not_found"
    assert lookup.lookup("HZ2026110001", "0100", "c:fresh").outcome == "not_found"  # one try...
    assert lookup.lookup("HZ2026110001", "1234", "c:fresh").outcome == "throttled"  # ...then wait
    # other numbers are not affected for that client
    assert lookup.lookup("CZ2026100023", "1111", "c:fresh").outcome == "found"


def test_success_forgives_the_clients_slips_on_that_number(db, clock):
    lookup = StatusLookup(db, clock)
    for _ in range(status_lookup.MAX_PAIR_FAILURES - 1):
        lookup.lookup("HZ2026110001", "0000", "c")
    assert lookup.lookup("HZ2026110001", "1234", "c").outcome == "found"
    for _ in range(status_lookup.MAX_PAIR_FAILURES - 1):
        assert lookup.lookup("HZ2026110001", "0000", "c").outcome == "not_found"


def test_wait_in_words():
    assert status_lookup.LookupResult("throttled", retry_after_minutes=7).wait == "7分钟"
    assert status_lookup.LookupResult("throttled", retry_after_minutes=61).wait == "2小时"


def test_purge_removes_old_rows_of_the_former_counter(db, clock):
    from bot.catalog import models
    from bot.catalog.db import session_scope

    with session_scope(db) as s:
        s.add(models.LookupFailure(conversation="conv:old", at=clock.t))
    lookup = StatusLookup(db, clock)
    lookup.lookup("HZ2026110001", "0000", "c")  # counted in throttle_hits, not in lookup_failures
    clock.t += timedelta(days=2)
    assert lookup.purge() == 1


def test_reloading_samples_replaces_them(db):
    assert load_samples(db) == 3
    assert load_samples(db) == 3


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["applications"][0].update(phone="123"), "applications.0.phone"),
    (lambda d: d["applications"][1].update(number="x"), "applications.1.number"),
    (lambda d: d["applications"][2].update(history=[]), "applications.2.history"),
    (lambda d: d["applications"][0]["history"][0].update(at="yesterday"), "applications.0.history.0.at"),
    (lambda d: d["applications"][0].update(service="no.such"), "applications.0.service"),
])
def test_broken_samples_name_file_and_field(tmp_path, db, content, mutate, field):
    data = yaml.safe_load(status_lookup.SAMPLE_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "applications.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(status_lookup.SampleError) as err:
        load_samples(db, path, services={s.code for s in content.services})
    assert str(path) in str(err.value) and field in str(err.value)
