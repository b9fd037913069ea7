"""The staff console in headless Chromium: sign in, assist mode as the operator types,
choose a service, change the region, copy the read-aloud version, sign out."""
from __future__ import annotations

import uuid
from typing import List

import pytest
from aiohttp import web

from bot.config import PROJECT_ROOT, Settings
from bot.console.auth import StaffAuth
from bot.web.server import create_app

from .test_webchat_browser import Background

pytestmark = pytest.mark.browser
SHOTS = PROJECT_ROOT / "reports" / "screenshots"
PASSWORD = "console shift 99"


def fake_rasa_app(seen: List[str]) -> web.Application:
    async def parse(request):
        text = (await request.json())["text"]
        seen.append(text)
        ranking = ([{"name": "funeral_after_death", "confidence": 0.81},
                    {"name": "funeral_death_benefits", "confidence": 0.11},
                    {"name": "funeral_fee_waiver", "confidence": 0.05}]
                   if "走了" in text else [{"name": "elder_age_allowance", "confidence": 0.7}])
        return web.json_response({"intent": ranking[0], "intent_ranking": ranking, "entities": []})

    app = web.Application()
    app.router.add_post("/model/parse", parse)
    return app


@pytest.fixture
def console(catalog_url):
    bg = Background()
    seen: List[str] = []
    try:
        rasa_url = bg.serve(fake_rasa_app(seen))
        settings = Settings(db_url=catalog_url, rasa_url=rasa_url, web_host="127.0.0.1", web_port=0,
                            hotline="12345")
        base = bg.serve(create_app(rasa_url, settings))
        name = f"op.{uuid.uuid4().hex[:8]}"
        StaffAuth(catalog_url).add_account(name, PASSWORD, "李坐席")
        yield base, name, seen
    finally:
        bg.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    p = context.new_page()
    p.set_default_timeout(15_000)
    problems: List[str] = []
    p.on("pageerror", lambda exc: problems.append(str(exc)))
    p.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Refused" in m.text else None)
    p.problems = problems
    yield p
    context.close()


def sign_in(page, base, name):
    page.goto(base + "/console/")
    assert page.locator("h1").inner_text().endswith("工作人员登录")  # 401 shows the sign-in form
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#caller-text")


def test_assist_mode_end_to_end(console, page):
    base, name, seen = console
    sign_in(page, base, name)
    assert page.inner_text("#staff-name") == "李坐席"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)

    page.type("#caller-text", "我妈刚走了，在杭州，后事怎么办", delay=20)
    page.wait_for_selector("#candidates li:nth-child(3)")
    names = page.locator("#candidates li button span:first-child").all_inner_texts()
    assert names == ["身后事一件事", "丧葬补助金和抚恤金", "基本殡葬服务费用减免"]
    assert page.locator("#candidates .conf").first.inner_text() == "81%"
    assert "杭州" in page.input_value("#region")  # the region heard in the call fills the picker
    # typing is debounced: far fewer NLU calls than keystrokes
    assert 1 <= len(seen) < 10

    page.click("#candidates li:first-child button")
    page.wait_for_selector("#guide-section:not([hidden])")
    read_aloud = page.inner_text("#read-aloud")
    assert "杭州" in read_aloud and "办理地点" in read_aloud
    assert page.get_attribute("#candidates li:first-child button", "aria-pressed") == "true"

    page.click("#copy")
    page.wait_for_selector("#copy-status:has-text('已复制')")
    assert page.evaluate("navigator.clipboard.readText()") == read_aloud

    page.fill("#region", "营口")
    page.dispatch_event("#region", "change")
    page.wait_for_selector("#read-aloud:has-text('营口')")

    page.fill("#region", "火星")
    page.dispatch_event("#region", "change")
    page.wait_for_selector("#assist-status:has-text('没有找到这个地区')")
    assert page.problems == []

    page.click("#logout")
    page.wait_for_selector("#password")
    page.goto(base + "/console/")
    assert page.locator("#password").count() == 1  # signed out: the form again


def test_wrong_password_in_the_browser(console, page):
    base, name, _ = console
    page.goto(base + "/console/login")
    page.fill("#name", name)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    page.wait_for_selector(".error")
    assert "账号或密码不正确" in page.inner_text(".error")
    assert page.input_value("#name") == name and page.input_value("#password") == ""


def test_review_in_the_console(console, page, catalog_url):
    from bot.review import ReviewDesk

    base, name, _ = console
    marker = f"俺想问问那个补贴{uuid.uuid4().hex[:6]}"
    ReviewDesk(catalog_url).record("fallback", marker, "web", "greet", 0.3)
    sign_in(page, base, name)
    row = page.wait_for_selector(f"#review li:has-text('{marker}')")
    assert "没听懂" in row.inner_text() and "greet" in row.inner_text()
    row.query_selector("select").select_option("elder.age_allowance")
    row.query_selector("button").click()
    page.wait_for_selector(f"#review li:has-text('{marker}')", state="detached")
    assert ("elder.age_allowance", marker) in ReviewDesk(catalog_url).reviewed()
    assert page.problems == []


def test_overview_charts_render(console, page, catalog_url):
    from bot import stats

    base, name, _ = console
    stats.record(catalog_url, "web", [{"text": "…", "kind": "guide", "service": "elder.age_allowance"}])
    sign_in(page, base, name)
    page.click("a.nav[href='/console/overview']")
    page.wait_for_selector("#chart-daily rect", state="attached")
    assert page.locator("#chart-daily rect").count() == 14
    box = page.locator("#chart-daily").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 80
    assert "高龄津贴" in page.text_content("#chart-services")
    page.screenshot(path=str(SHOTS / "console-overview.png"), full_page=True)
    assert page.problems == []
