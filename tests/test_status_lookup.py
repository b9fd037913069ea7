"""Application status lookup: masking, neutral answers, throttling, sample data loading."""
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


def test_repeated_failures_are_throttled_per_conversation(db, clock):
    lookup = StatusLookup(db, clock)
    for _ in range(status_lookup.MAX_FAILURES):
        assert lookup.lookup("HZ2026110001", "0000", "attacker").outcome == "not_found"
    # now even the right pair is refused in this conversation...
    res = lookup.lookup("HZ2026110001", "1234", "attacker")
    assert res.outcome == "throttled" and 1 <= res.retry_after_minutes <= 15
    # ...but not in another one
    assert lookup.lookup("CZ2026100023", "1111", "someone-else").outcome == "found"
    # and the window passes
    clock.t += status_lookup.WINDOW + timedelta(seconds=1)
    assert lookup.lookup("HZ2026110001", "1234", "attacker").outcome == "found"


def test_guessing_one_number_from_many_conversations_is_throttled(db, clock):
    lookup = StatusLookup(db, clock)
    for i in range(status_lookup.MAX_NUMBER_FAILURES):
        assert lookup.lookup("HZ2026110001", f"{i:04d}", f"conv-{i}").outcome == "not_found"
    res = lookup.lookup("HZ2026110001", "1234", "fresh-conversation")
    assert res.outcome == "throttled"
    assert lookup.lookup("CZ2026100023", "1111", "fresh-conversation").outcome == "found"


def test_success_resets_the_conversation_counter(db, clock):
    lookup = StatusLookup(db, clock)
    for _ in range(status_lookup.MAX_FAILURES - 1):
        lookup.lookup("HZ2026110001", "0000", "c")
    assert lookup.lookup("HZ2026110001", "1234", "c").outcome == "found"
    for _ in range(status_lookup.MAX_FAILURES - 1):
        assert lookup.lookup("HZ2026110001", "0000", "c").outcome == "not_found"


def test_purge(db, clock):
    lookup = StatusLookup(db, clock)
    lookup.lookup("HZ2026110001", "0000", "c")
    clock.t += timedelta(days=2)
    assert lookup.purge() == 2  # one per conversation key, one per number key


def test_reloading_samples_replaces_them(db):
    assert load_samples(db) == 3
    assert load_samples(db) == 3


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["applications"][0].update(phone="123"), "applications[0].phone"),
    (lambda d: d["applications"][1].update(number="x"), "applications[1].number"),
    (lambda d: d["applications"][2].update(history=[]), "applications[2].history"),
    (lambda d: d["applications"][0]["history"][0].update(at="yesterday"), "applications[0].history[0].at"),
    (lambda d: d["applications"][0].update(service="no.such"), "applications[0].service"),
])
def test_broken_samples_name_file_and_field(tmp_path, db, content, mutate, field):
    data = yaml.safe_load(status_lookup.SAMPLE_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "applications.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(status_lookup.SampleError) as err:
        load_samples(db, path, services={s.code for s in content.services})
    assert str(path) in str(err.value) and field in str(err.value)
