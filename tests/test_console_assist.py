"""Assist mode for hotline staff: the caller's words -> top three services, and the
guide with a short version to read aloud. Against a scripted Rasa, then the real one."""
from __future__ import annotations

import uuid

import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.console.auth import StaffAuth
from bot.console.web import AUTH_KEY
from bot.web.server import create_app

PASSWORD = "hotline shift 42"


@pytest.fixture
async def fake_parse():
    calls = []
    state = {"down": False}

    async def parse(request):
        if state["down"]:
            return web.Response(status=502)
        calls.append((request.query.get("token"), (await request.json())["text"]))
        return web.json_response({
            "intent": {"name": "elder_age_allowance", "confidence": 0.62},
            "intent_ranking": [
                {"name": "elder_age_allowance", "confidence": 0.62},
                {"name": "greet", "confidence": 0.2},
                {"name": "elder_service_subsidy", "confidence": 0.1},
                {"name": "elder_age_allowance", "confidence": 0.05},
                {"name": "elder_care_subsidy", "confidence": 0.02},
                {"name": "assistance_dibao", "confidence": 0.01},
            ],
            "entities": [],
        })

    app = web.Application()
    app.router.add_post("/model/parse", parse)
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), calls, state
    await server.close()


@pytest.fixture
async def staff_client(fake_parse, catalog_url, tmp_path):
    url, _, _ = fake_parse
    settings = Settings(db_url=catalog_url, rasa_url=url, web_host="127.0.0.1", web_port=0, hotline="12345",
                        rasa_token="test-token")
    app = create_app(url, settings)
    name = f"assist.{uuid.uuid4().hex[:8]}"  # the catalogue database is shared by the session
    app[AUTH_KEY].add_account(name, PASSWORD, "测试坐席")
    client = TestClient(TestServer(app))
    await client.start_server()
    origin = {"Origin": str(client.make_url("")).rstrip("/")}
    resp = await client.post("/console/login", data={"name": name, "password": PASSWORD},
                             headers=origin, allow_redirects=False)
    assert resp.status == 303
    client.origin = origin
    yield client
    await client.close()


async def test_top_three_services_best_first(staff_client, fake_parse):
    _, calls, _ = fake_parse
    resp = await staff_client.post("/api/console/assist", json={"text": "我奶奶八十多了在杭州能领啥钱"},
                                   headers=staff_client.origin)
    data = await resp.json()
    assert resp.status == 200
    assert [c["service"] for c in data["candidates"]] == ["elder.age_allowance", "elder.service_subsidy",
                                                          "elder.care_subsidy"]
    assert data["candidates"][0]["name"] == "高龄津贴" and data["candidates"][0]["confidence"] == 0.62
    assert data["region"]["code"] == "zhejiang-hangzhou"  # picked up from what the caller said
    assert calls == [("test-token", "我奶奶八十多了在杭州能领啥钱")]


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "x" * 2001}, {"text": 5}])
async def test_bad_requests(staff_client, body):
    resp = await staff_client.post("/api/console/assist", json=body, headers=staff_client.origin)
    assert resp.status == 400


async def test_nlu_down(staff_client, fake_parse):
    fake_parse[2]["down"] = True
    resp = await staff_client.post("/api/console/assist", json={"text": "低保"}, headers=staff_client.origin)
    assert resp.status == 503 and (await resp.json())["candidates"] == []


async def test_guide_with_read_aloud_version(staff_client):
    resp = await staff_client.get("/api/console/guide",
                                  params={"service": "elder.age_allowance", "region": "杭州", "age": "92"})
    data = await resp.json()
    assert resp.status == 200 and data["region"]["code"] == "zhejiang-hangzhou"
    assert "每月100元" in data["read_aloud"] and "自动发放" in data["read_aloud"]
    assert len(data["read_aloud"]) < len(data["text"]) / 2
    assert "<b>" in data["html"] and "政策依据" in data["text"]


@pytest.mark.parametrize("params,status", [
    ({"service": "no.such"}, 404),
    ({"service": "assistance.dibao", "region": "火星"}, 400),
])
async def test_guide_errors(staff_client, params, status):
    assert (await staff_client.get("/api/console/guide", params=params)).status == status


@pytest.mark.parametrize("method,path", [("POST", "/api/console/assist"), ("GET", "/api/console/guide")])
async def test_assist_needs_a_session(fake_parse, catalog_url, method, path):
    url = fake_parse[0]
    settings = Settings(db_url=catalog_url, rasa_url=url, web_host="127.0.0.1", web_port=0, hotline="12345")
    client = TestClient(TestServer(create_app(url, settings)))
    await client.start_server()
    try:
        resp = await client.request(method, path, json={"text": "低保"}, params={"service": "assistance.dibao"})
        assert resp.status == 401
        assert fake_parse[1] == []  # the NLU was never asked
    finally:
        await client.close()


@pytest.mark.slow
def test_assist_with_the_real_model(live_stack, catalog_url):
    name = f"live.{uuid.uuid4().hex[:8]}"
    StaffAuth(catalog_url).add_account(name, PASSWORD, "联调坐席")
    base = live_stack.web_url.rstrip("/")
    with requests.Session() as http:
        r = http.post(f"{base}/console/login", data={"name": name, "password": PASSWORD},
                      headers={"Origin": base}, allow_redirects=False, timeout=30)
        assert r.status_code == 303
        r = http.post(f"{base}/api/console/assist", json={"text": "我妈刚走了，后事该怎么办，要去哪开证明"},
                      headers={"Origin": base}, timeout=30)
        assert r.status_code == 200
        cands = r.json()["candidates"]
        assert cands and cands[0]["service"] == "funeral.after_death" and len(cands) <= 3
        assert all(0 <= c["confidence"] <= 1 for c in cands)
        r = http.get(f"{base}/api/console/guide", params={"service": "funeral.after_death", "region": "杭州"},
                     timeout=30)
        assert r.status_code == 200 and "杭州" in r.json()["read_aloud"]


async def test_catalogue_down_is_a_503_not_a_crash(fake_parse, tmp_path):
    from bot.catalog.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)  # tables but no catalogue
    rasa_url = fake_parse[0]
    settings = Settings(db_url=url, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345")
    app = create_app(rasa_url, settings)
    app[AUTH_KEY].add_account("empty.op", PASSWORD)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        origin = {"Origin": str(client.make_url("")).rstrip("/")}
        await client.post("/console/login", data={"name": "empty.op", "password": PASSWORD}, headers=origin)
        assert (await client.post("/api/console/assist", json={"text": "低保"}, headers=origin)).status == 503
        assert (await client.get("/api/console/guide", params={"service": "assistance.dibao"})).status == 503
    finally:
        await client.close()


async def test_guide_puts_the_faq_answer_to_the_callers_question_first(staff_client):
    """The operator reads out the direct answer (with its legal basis) before the guide."""
    resp = await staff_client.get("/api/console/guide",
                                  params={"service": "marriage.divorce", "text": "离婚冷静期是多少天"})
    data = await resp.json()
    assert resp.status == 200 and data["faq"] is not None
    assert "30" in data["faq"]["text"] and "民法典" in data["faq"]["legal"]
    plain = await (await staff_client.get("/api/console/guide", params={"service": "marriage.divorce"})).json()
    assert plain["faq"] is None and plain["text"] == data["text"]
    too_long = await staff_client.get("/api/console/guide", params={"service": "marriage.divorce", "text": "问" * 2001})
    assert too_long.status == 400
