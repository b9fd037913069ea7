"""QR-code entry points: catalogue data, validation, the guide for the scanned
office, the action that opens a conversation from one, and the web chat's ?entry=."""
from __future__ import annotations

import json

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from actions import actions as A
from actions import backend
from bot import entry
from bot.catalog.loader import ContentError, load_content
from bot.channel_input import prepare_payload
from bot.config import Settings
from bot.web.server import create_app
from tests.test_actions import make_tracker, run

XIHU_OFFICE = "zhejiang-hangzhou-xihu-marriage"


# -- content and validation -----------------------------------------------------------

def test_every_entry_point_is_loaded_with_its_region(catalog, content):
    eps = catalog.entry_points()
    assert [e.id for e in eps] == [e.id for e in content.entry_points]
    assert len(eps) >= 10
    for ep in eps:
        assert entry.valid_entry_id(ep.id) == ep.id
        assert catalog.service(ep.service) is not None
        assert ep.region, f"{ep.id}: region should default to the office's region"
        if ep.office:
            office = catalog.office(ep.office)
            assert office is not None
    xihu = catalog.entry_point("hz-xihu-marriage")
    assert (xihu.service, xihu.office, xihu.region) == ("marriage.register", XIHU_OFFICE, "zhejiang-hangzhou-xihu")


@pytest.mark.parametrize("raw", [None, "", "nope", "hz-xihu-marriage ", "hz xihu", "a" * 65, "杭州", "../etc",
                                 "hz-xihu-marriage\n", 42])
def test_unknown_or_invalid_ids_give_none(catalog, raw):
    assert catalog.entry_point(raw) is None
    assert entry.lookup(catalog, raw) is None
    assert entry.rasa_message(catalog, raw) is None


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_payloads_never_raise(catalog, raw):
    msg = entry.rasa_message(catalog, raw)
    assert msg is None or catalog.entry_point(raw) is not None


def _edit_entries(content_copy, fn):
    path = content_copy / "entry_points.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(data["entry_points"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("breakage,expected", [
    (lambda eps: eps.append(dict(eps[0])), "entry_points.{n}.id: duplicate entry point 'hz-xihu-marriage'"),
    (lambda eps: eps[0].update(service="marriage.nope"), "entry_points.0.service: unknown service code"),
    (lambda eps: eps[0].update(office="nowhere-office"), "entry_points.0.office: unknown office code"),
    (lambda eps: eps[0].update(service="assistance.dibao"), "does not offer 'assistance.dibao'"),
    (lambda eps: eps[0].update(region="hebei-qinhuangdao"), "outside region 'hebei-qinhuangdao'"),
    (lambda eps: eps[0].update(region="atlantis"), "entry_points.0.region: unknown region code"),
    (lambda eps: eps[0].update(id="bad id!"), "entry_points.0.id"),
    (lambda eps: eps[0].update(id="x" * 65), "entry_points.0.id"),
    (lambda eps: eps[0].pop("label"), "entry_points.0.label"),
])
def test_broken_entry_points_name_file_and_field(content_copy, breakage, expected):
    n = len(yaml.safe_load((content_copy / "entry_points.yml").read_text(encoding="utf-8"))["entry_points"])
    _edit_entries(content_copy, breakage)
    with pytest.raises(ContentError) as exc:
        load_content(content_copy)
    msg = str(exc.value)
    assert "entry_points.yml" in msg
    assert expected.format(n=n) in msg


def test_office_of_a_parent_region_serves_a_district_entry(content_copy):
    # a city office serves its districts: a Xihu-district poster may point at it
    def move(eps):
        ep = next(e for e in eps if e["id"] == "hz-age-allowance")
        ep["region"] = "zhejiang-hangzhou-xihu"
    _edit_entries(content_copy, move)
    content = load_content(content_copy)
    ep = next(e for e in content.entry_points if e.id == "hz-age-allowance")
    assert ep.region == "zhejiang-hangzhou-xihu"


def test_district_office_cannot_serve_a_whole_city_entry(content_copy):
    _edit_entries(content_copy, lambda eps: eps[0].update(region="zhejiang-hangzhou"))
    with pytest.raises(ContentError, match="outside region 'zhejiang-hangzhou'"):
        load_content(content_copy)


# -- the guide for the scanned office ---------------------------------------------------

def test_guide_lists_the_scanned_office_first(assistant, catalog):
    plain = catalog.guide("marriage.register", "zhejiang-hangzhou-xihu")
    scanned = catalog.guide("marriage.register", "zhejiang-hangzhou-xihu", office_code=XIHU_OFFICE)
    assert scanned.office_code == XIHU_OFFICE
    assert scanned.offices[0].code == XIHU_OFFICE
    assert {o.code for o in scanned.offices} == {o.code for o in plain.offices}
    reply = assistant.guide("marriage.register", "zhejiang-hangzhou-xihu", office_code=XIHU_OFFICE)
    assert "杭州市西湖区婚姻登记处（您扫码所在的办理点）" in reply.text
    assert "您扫码所在的办理点" not in assistant.guide("marriage.register", "zhejiang-hangzhou-xihu").text


def test_office_that_does_not_offer_the_service_is_ignored(catalog):
    g = catalog.guide("assistance.dibao", "zhejiang-hangzhou-xihu", office_code=XIHU_OFFICE)
    assert g.office_code is None
    assert all(o.code != XIHU_OFFICE for o in g.offices)


# -- channels: payloads and links ------------------------------------------------------------

def test_rasa_message_opens_the_service_with_the_entry(catalog):
    msg = entry.rasa_message(catalog, "hz-xihu-divorce")
    intent, entities = msg[1:].split("{", 1)
    assert intent == "marriage_divorce"
    assert json.loads("{" + entities) == {"entry": "hz-xihu-divorce"}
    assert prepare_payload(msg).message == msg  # the channel checks accept it


def test_entry_payloads_with_bad_values_are_refused():
    assert prepare_payload('/marriage_register{"entry":"hz-xihu-marriage"}').message
    for bad in ('/marriage_register{"entry":"<script>"}', '/marriage_register{"entry":"' + "a" * 65 + '"}',
                '/marriage_register{"entry":"a b"}', '/marriage_register{"office":"x"}'):
        assert prepare_payload(bad).message is None, bad


def test_links():
    assert entry.telegram_link("MinzhengBot", "hz-funeral") == "https://t.me/MinzhengBot?start=hz-funeral"
    assert entry.web_link("https://chat.example.gov.cn/", "hz-funeral") == \
        "https://chat.example.gov.cn/?entry=hz-funeral"


# -- the action ----------------------------------------------------------------------------------------

@pytest.fixture
def use_test_catalog(monkeypatch, catalog_url):
    monkeypatch.setenv("MINZHENG_DB_URL", catalog_url)
    monkeypatch.setenv("MINZHENG_HOTLINE", "12345")
    backend.reset()
    yield
    backend.reset()


def _entry_tracker(entry_id: str, intent: str = "marriage_register", slots=None):
    return make_tracker(f'/{intent}{{"entry":"{entry_id}"}}', intent, slots,
                        entities=[{"entity": "entry", "value": entry_id}])


async def test_action_opens_on_the_entry_service_region_and_office(use_test_catalog, rasa_domain):
    # the intent in the payload says divorce but the entry point decides
    msgs, slots = await run(A.ActionServiceGuide(), _entry_tracker("hz-xihu-marriage", "marriage_divorce"),
                            rasa_domain)
    m = msgs[0]
    assert m["custom"]["kind"] == "guide" and m["custom"]["service"] == "marriage.register"
    assert slots["service"] == "marriage.register"
    assert slots["region"] == "zhejiang-hangzhou-xihu"
    assert slots["office"] == XIHU_OFFICE
    assert "您扫码所在的办理点" in m["text"]
    assert "哪个城市" not in m["text"]  # never asks for the city: the poster says it


async def test_unknown_entry_falls_back_to_the_intent(use_test_catalog, rasa_domain):
    msgs, slots = await run(A.ActionServiceGuide(), _entry_tracker("no-such-entry"), rasa_domain)
    assert slots["service"] == "marriage.register"
    assert msgs[0]["custom"]["kind"] == "guide" and "哪个城市" in msgs[0]["text"]  # answer first, then the city
    assert "office" not in slots or slots["office"] is None


async def test_follow_up_keeps_the_scanned_office(use_test_catalog, rasa_domain):
    state = {"service": "marriage.register", "region": "zhejiang-hangzhou-xihu", "office": XIHU_OFFICE}
    msgs, _ = await run(A.ActionServiceSection(), make_tracker("在哪办", "ask_location", state), rasa_domain)
    assert "您扫码所在的办理点" in msgs[0]["text"]


async def test_changing_city_drops_the_scanned_office(use_test_catalog, rasa_domain):
    state = {"service": "marriage.register", "region": "zhejiang-hangzhou-xihu", "office": XIHU_OFFICE}
    tracker = make_tracker("我其实在营口", "marriage_register", state,
                           entities=[{"entity": "region", "value": "营口"}])
    msgs, slots = await run(A.ActionServiceGuide(), tracker, rasa_domain)
    assert slots["region"] == "liaoning-yingkou"
    assert slots["office"] is None
    assert "您扫码所在的办理点" not in msgs[0]["text"]


# -- the web chat ------------------------------------------------------------------------------------------

@pytest.fixture
async def fake_rasa():
    received = []

    async def webhook(request):
        body = await request.json()
        received.append(body)
        return web.json_response([{"recipient_id": body["sender"], "text": "好的"}])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")), received
    await server.close()


@pytest.mark.parametrize("raw,expected", [
    ("hz-xihu-marriage", '/marriage_register{"entry":"hz-xihu-marriage"}'),
    ("yk-temporary-relief", '/assistance_temporary{"entry":"yk-temporary-relief"}'),
    ("no-such-entry", "/greet"),
    ("<script>alert(1)</script>", "/greet"),
    ("a" * 500, "/greet"),
    (["hz-funeral"], "/greet"),
    (12, "/greet"),
])
async def test_web_chat_entry(fake_rasa, catalog_url, raw, expected):
    url, received = fake_rasa
    settings = Settings(db_url=catalog_url, rasa_url=url, web_host="127.0.0.1", web_port=0, hotline="12345")
    client = TestClient(TestServer(create_app(url, settings)))
    await client.start_server()
    try:
        resp = await client.post("/api/chat", json={"sender": "abcdEFGH1234", "entry": raw})
        data = await resp.json()
        assert resp.status == 200 and data["ok"] is True
        assert received[-1]["message"].replace(" ", "") == expected
        assert received[-1]["metadata"]["channel"] == "web"
    finally:
        await client.close()


async def test_web_chat_entry_with_catalogue_down_still_greets(fake_rasa):
    url, received = fake_rasa
    settings = Settings(db_url="postgresql://nobody@127.0.0.1:1/none", rasa_url=url, web_host="127.0.0.1",
                        web_port=0, hotline="12345")
    client = TestClient(TestServer(create_app(url, settings)))
    await client.start_server()
    try:
        resp = await client.post("/api/chat", json={"sender": "abcdEFGH1234", "entry": "hz-funeral"})
        assert resp.status == 200
        assert received[-1]["message"] == "/greet"
    finally:
        await client.close()
