"""The learning loop: review items from the actions and the channels, staff labels,
and the export as Rasa NLU training data that `rasa data validate` accepts."""
from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.catalog.loader import write_catalog
from bot.catalog.migrate import upgrade
from bot.config import PROJECT_ROOT, Settings
from bot.console.auth import StaffAuth
from bot.review import ReviewDesk, ReviewError, export_nlu
from bot.web.server import create_app

from .rasa_cli import rasa

CODES = ["assistance.dibao", "elder.age_allowance", "funeral.after_death"]


@pytest.fixture
def db(tmp_path, content):
    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade(url)
    write_catalog(url, content)
    return url


@pytest.fixture
def staff(db):
    return StaffAuth(db).add_account("rev.op", "review pass 12").id


def test_record_pending_assign(db, staff):
    desk = ReviewDesk(db, now=lambda: datetime(2026, 11, 25, 10, 0))
    assert desk.record("fallback", "俺家老头子走了咋整", "web", "greet", 0.31)
    assert desk.record("low_confidence", "老人钱", "telegram", "elder_age_allowance", 0.52, "elder.age_allowance")
    assert not desk.record("fallback", "   ")
    assert not desk.record("fallback", "/greet")  # button payloads are not citizen language
    assert not desk.record("nonsense", "x")
    items = desk.pending()
    assert [i.source for i in items] == ["low_confidence", "fallback"]  # newest first
    first = next(i for i in items if i.source == "fallback")
    desk.assign(first.id, "funeral.after_death", staff, CODES)
    assert all(i.id != first.id for i in desk.pending())
    with pytest.raises(ReviewError):
        desk.assign(items[0].id, "no.such.service", staff, CODES)
    assert desk.reviewed() == [("funeral.after_death", "俺家老头子走了咋整")]


def test_pending_masks_personal_data(db):
    desk = ReviewDesk(db)
    desk.record("fallback", "我电话13812345678低保咋办")
    assert desk.pending()[0].text == "我电话138****5678低保咋办"


def test_unhelpful_ratings_become_review_items(db):
    desk = ReviewDesk(db)
    desk.rate("web", "assistance.dibao", True, "低保怎么办")
    desk.rate("web", "assistance.dibao", False, "低保多少钱一个月")
    items = desk.pending()
    assert len(items) == 1 and items[0].source == "unhelpful" and items[0].service == "assistance.dibao"


def test_export_format():
    text, n, skipped = export_nlu([
        ("funeral.after_death", "俺家老头子走了咋整"),
        ("funeral.after_death", "俺家老头子走了咋整"),  # duplicate
        ("out_of_scope", "帮我查下公积金"),
        ("skip", "哈哈哈"),
        ("assistance.dibao", "我电话13812345678低保"),  # personal data: never exported
        ("elder.age_allowance", "  老人 钱 "),
    ])
    assert (n, skipped) == (3, 1)
    data = yaml.safe_load(text)
    assert data["version"] == "3.1"
    blocks = {b["intent"]: b["examples"] for b in data["nlu"]}
    assert blocks == {"elder_age_allowance": "- 老人 钱\n", "funeral_after_death": "- 俺家老头子走了咋整\n",
                      "out_of_scope": "- 帮我查下公积金\n"}


@pytest.mark.slow
def test_export_is_accepted_by_rasa_data_validate(db, staff, tmp_path):
    desk = ReviewDesk(db)
    for label, text in [("funeral.after_death", "老父亲昨晚在家里走了，接下来先办啥"),
                        ("out_of_scope", "帮我查下个人所得税退税"),
                        ("elder.age_allowance", "九十岁老人每个月能领的钱在哪申请")]:
        desk.record("fallback", text)
        desk.assign(desk.pending()[0].id, label, staff, CODES)
    out = tmp_path / "reviewed.yml"
    proc = subprocess.run([sys.executable, "-m", "bot", "--db-url", db, "export-nlu", "--out", str(out)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "3 examples exported" in proc.stderr
    data_dir = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data_dir)
    shutil.copy(out, data_dir / "nlu" / "reviewed.yml")
    res = rasa(["data", "validate", "--fail-on-warnings", "--config", "config.yml", "--domain", "domain.yml",
                "--data", str(data_dir)])
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]


# -- through the web ------------------------------------------------------------------------------


@pytest.fixture
async def client(db):
    from aiohttp import web

    async def webhook(request):
        body = await request.json()
        return web.json_response([{"recipient_id": body["sender"], "text": "低保指南"},
                                  {"recipient_id": body["sender"],
                                   "custom": {"kind": "guide", "service": "assistance.dibao", "html": "低保指南"}}])

    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", webhook)
    rserver = TestServer(rasa)
    await rserver.start_server()
    rasa_url = str(rserver.make_url("")).rstrip("/")
    settings = Settings(db_url=db, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0, hotline="12345")
    c = TestClient(TestServer(create_app(rasa_url, settings)))
    await c.start_server()
    yield c
    await c.close()
    await rserver.close()


async def test_feedback_and_review_through_the_web(client, db, staff):
    # the guide is sent to this conversation first; the question is the one really asked
    assert (await client.post("/api/chat", json={"text": "低保多少钱"})).status == 200
    ok = await client.post("/api/feedback", json={"service": "assistance.dibao", "helpful": False,
                                                  "question": "伪造的问题"})
    assert ok.status == 200 and (await ok.json())["ok"]
    for bad in ({"service": "no.such", "helpful": True},
                {"service": "assistance.dibao", "helpful": "yes"},
                {"service": "x" * 65, "helpful": True}):
        assert (await client.post("/api/feedback", json=bad)).status == 400
    assert (await client.post("/api/feedback", json={"service": "assistance.dibao", "helpful": True})).status == 409
    assert (await client.get("/api/console/review")).status == 401
    origin = {"Origin": str(client.make_url("")).rstrip("/")}
    await client.post("/console/login", data={"name": "rev.op", "password": "review pass 12"}, headers=origin)
    items = (await (await client.get("/api/console/review")).json())["items"]
    assert len(items) == 1 and items[0]["text"] == "低保多少钱" and items[0]["source"] == "unhelpful"
    bad = await client.post(f"/api/console/review/{items[0]['id']}", json={"label": "nope"}, headers=origin)
    assert bad.status == 400
    good = await client.post(f"/api/console/review/{items[0]['id']}", json={"label": "assistance.dibao"},
                             headers=origin)
    assert good.status == 200
    assert (await (await client.get("/api/console/review")).json())["items"] == []
    assert ReviewDesk(db).reviewed() == [("assistance.dibao", "低保多少钱")]
