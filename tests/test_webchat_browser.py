"""The web chat page (bot/web/static) driven in headless Chromium with Playwright.

Uses Debian's Chromium at /usr/bin/chromium (never a downloaded browser). Without it
the tests are skipped locally and fail in CI (env var CI set).
"""
from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from aiohttp import web

from bot.config import PROJECT_ROOT, Settings
from bot.stack import free_port
from bot.web.server import create_app

pytestmark = pytest.mark.browser

SCREENSHOT = PROJECT_ROOT / "reports" / "screenshots" / "webchat.png"
BOT = ".msg.bot:not(.typing)"


# -- browser fixtures (``browser`` is in conftest.py) ------------------------------------


@pytest.fixture
def browser_page(browser):
    """A fresh page (own cookies and storage) in a phone-sized window.

    ``page.problems`` collects uncaught script errors, CSP violations and dialogs
    (an ``alert`` would mean injected script ran); tests assert it stays empty.
    """
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                  device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: List[str] = []

    def on_console(msg):
        if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text):
            problems.append(f"console: {msg.text}")

    def on_dialog(dialog):
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("console", on_console)
    page.on("dialog", on_dialog)
    page.problems = problems
    try:
        yield page
    finally:
        context.close()


# -- in-process servers -------------------------------------------------------------


class Background:
    """aiohttp applications served on free ports by an event loop in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.runners: List[web.AppRunner] = []
        self.thread = threading.Thread(target=self.loop.run_forever, name="webchat-test-servers", daemon=True)
        self.thread.start()

    def serve(self, app: web.Application) -> str:
        async def start() -> str:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            host, port = runner.addresses[0][:2]
            return f"http://{host}:{port}"

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(timeout=30)

    def close(self) -> None:
        async def stop() -> None:
            for runner in reversed(self.runners):
                await runner.cleanup()

        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
            self.loop.close()


_LOADED: Dict[str, Path] = {}  # the database file with the catalogue, built once per session


@pytest.fixture
def web_db(tmp_path, tmp_path_factory, content) -> str:
    """A database of its own (rate limits, the desk, sent guides) with the catalogue loaded,
    so the page's welcome has the content's menu: a copy of one built once per session
    (other test modules import this fixture alone, hence no fixture of its own for that)."""
    from bot.catalog.loader import write_catalog
    from bot.catalog.migrate import upgrade

    if "file" not in _LOADED:
        template = tmp_path_factory.mktemp("web-template") / "web.db"
        upgrade(f"sqlite:///{template}")
        write_catalog(f"sqlite:///{template}", content)
        _LOADED["file"] = template
    path = tmp_path / "web.db"
    with closing(sqlite3.connect(_LOADED["file"])) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)  # with what is still in the write-ahead log
    return f"sqlite:///{path}"


@pytest.fixture
def empty_db(tmp_path) -> str:
    """Migrated, no catalogue loaded."""
    from bot.catalog.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    return url


def menu_titles(db_url: str) -> List[str]:
    """The welcome's buttons: the catalogue's menu, then 我能办什么."""
    from bot.assistant import Assistant
    from bot.catalog.queries import Catalog

    return [b.title for b in Assistant(Catalog(db_url)).menu_buttons()] + ["我能办什么"]


def _settings(db_url: str) -> Settings:
    return Settings(db_url=db_url, rasa_url="", web_host="127.0.0.1", web_port=0, hotline="12345")


@pytest.fixture
def servers():
    bg = Background()
    try:
        yield bg
    finally:
        bg.close()


@pytest.fixture
def down_web(servers, web_db) -> str:
    """The web chat in front of a Rasa URL where nothing listens."""
    return servers.serve(create_app(rasa_url=f"http://127.0.0.1:{free_port()}", settings=_settings(web_db))) + "/"


@pytest.fixture
def uncatalogued_web(servers, empty_db) -> str:
    """The web chat on a database without a catalogue (and no Rasa)."""
    return servers.serve(create_app(rasa_url=f"http://127.0.0.1:{free_port()}", settings=_settings(empty_db))) + "/"


FAKE_REPLY = [
    {"recipient_id": "x", "text": "好的", "buttons": [{"title": "所需材料", "payload": "/ask_materials"}]},
    {"recipient_id": "x", "custom": {"kind": "guide", "service": "marriage.register",
                                     "html": "<b>结婚登记</b>\n<script>alert(1)</script>"}},
]


@pytest.fixture
def fake_web(servers, web_db):
    """The web chat in front of a fake Rasa REST channel; returns (page URL, what Rasa received)."""
    received: List[Dict] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response(FAKE_REPLY)

    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", webhook)
    rasa_url = servers.serve(rasa)
    return servers.serve(create_app(rasa_url=rasa_url, settings=_settings(web_db))) + "/", received


# -- helpers ------------------------------------------------------------------------


def chat_requests(page) -> List[Dict]:
    """Bodies of the page's POSTs to /api/chat, recorded from now on."""
    bodies: List[Dict] = []

    def on_request(req):
        if req.method == "POST" and req.url.endswith("/api/chat"):
            bodies.append(json.loads(req.post_data or "{}"))

    page.on("request", on_request)
    return bodies


def open_chat(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page).to_have_title("民政助手")
    expect(page.locator(f'{BOT}[data-kind="welcome"]')).to_be_visible()


def bot_count(page) -> int:
    return page.locator(BOT).count()


def wait_for_answer(page, before: int, timeout: float = 90_000) -> List[Dict[str, str]]:
    """Wait until the request finished and new bot bubbles appeared; return them."""
    page.wait_for_function(
        """n => !document.getElementById('typing')
              && document.querySelectorAll('.msg.bot:not(.typing)').length > n""",
        arg=before, timeout=timeout,
    )
    bubbles = page.locator(BOT)
    return [
        {"kind": bubbles.nth(i).get_attribute("data-kind") or "",
         "service": bubbles.nth(i).get_attribute("data-service") or "",
         "text": bubbles.nth(i).inner_text()}
        for i in range(before, bubbles.count())
    ]


def ask(page, text: str) -> Callable[[], None]:
    def action() -> None:
        page.fill("#input", text)
        page.press("#input", "Enter")
    return action


def choose_city(page, city: str) -> None:
    """Click a city button of the latest "which city?" question."""
    page.locator(f'{BOT}[data-kind="ask_region"]').last.get_by_role("button", name=city, exact=True).click()


def assert_no_error_dump(page) -> None:
    text = page.locator("body").inner_text()
    for marker in ("Traceback", "Error:", "Exception", "undefined", "[object Object]"):
        assert marker not in text, f"{marker!r} shown on the page:\n{text}"


# -- tests --------------------------------------------------------------------------


def test_chat_with_real_bot(live_stack, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    open_chat(page, live_stack.web_url)

    def answer(action: Callable[[], None]) -> List[Dict[str, str]]:
        before = bot_count(page)
        action()
        new = wait_for_answer(page, before)
        assert all(b["kind"] != "unavailable" for b in new), f"the stack answered with an apology: {new}"
        return new

    new = answer(ask(page, "请问结婚登记要带什么材料"))
    kinds = [b["kind"] for b in new]
    assert "ask_region" in kinds or "guide" in kinds, new
    if "guide" not in kinds:
        answer(lambda: choose_city(page, "杭州"))

    marriage = page.locator(f'{BOT}[data-kind="guide"][data-service="marriage.register"]')
    expect(marriage.filter(has_text="居民身份证").filter(has_text="杭州").first).to_be_visible()

    # Traditional characters, the age in words (the region is remembered; answer it if asked again)
    new = answer(ask(page, "我媽九十歲了，高齡津貼怎麼領"))
    for _ in range(2):
        if any(b["kind"] == "guide" for b in new) or not any(b["kind"] == "ask_region" for b in new):
            break
        new = answer(lambda: choose_city(page, "杭州"))
    elder = page.locator(f'{BOT}[data-kind="guide"][data-service="elder.age_allowance"]')
    expect(elder.first).to_be_visible()

    assert_no_error_dump(page)
    assert page.problems == []
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))


def test_rasa_down_shows_apology_and_retry(down_web, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    bodies = chat_requests(page)
    open_chat(page, down_web)
    question = "请问结婚登记要带什么材料"

    before = bot_count(page)
    ask(page, question)()
    expect(page.locator(".msg.user .bubble").last).to_have_text(question)  # shown at once
    new = wait_for_answer(page, before)
    assert [b["kind"] for b in new] == ["unavailable"]
    apology = page.locator(f'{BOT}[data-kind="unavailable"]').last
    expect(apology).to_contain_text("12345")
    retry = apology.get_by_role("button", name=re.compile("重试"))
    expect(retry).to_be_visible()
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator(".msg.user .bubble")).to_have_text([question])
    assert_no_error_dump(page)

    # 重试 sends the same message again (and does not repeat the user's bubble)
    before = bot_count(page)
    retry.click()
    wait_for_answer(page, before)
    assert len(bodies) == 2 and bodies[1] == bodies[0] == {"text": question}  # no sender: the cookie is it
    expect(page.locator(".msg.user .bubble")).to_have_text([question])
    expect(page.locator(f'{BOT}[data-kind="unavailable"]')).to_have_count(2)

    # the proxy itself unreachable: a polite error bubble with the same retry button
    page.route("**/api/chat", lambda route: route.abort())
    before = bot_count(page)
    page.locator(f'{BOT}[data-kind="unavailable"]').last.get_by_role("button", name=re.compile("重试")).click()
    new = wait_for_answer(page, before)
    assert [b["kind"] for b in new] == ["error"]
    error = page.locator(f'{BOT}[data-kind="error"]').last
    expect(error).to_contain_text("抱歉")
    expect(error).to_contain_text("12345")
    page.unroute("**/api/chat")
    before = bot_count(page)
    error.get_by_role("button", name=re.compile("重试")).click()
    assert [b["kind"] for b in wait_for_answer(page, before)] == ["unavailable"]
    assert all(b == bodies[0] for b in bodies) and len(bodies) == 4
    expect(page.locator(".msg.user .bubble")).to_have_text([question])
    assert_no_error_dump(page)
    assert page.problems == []


def test_empty_and_long_input(fake_web, browser_page):
    from playwright.sync_api import expect

    url, received = fake_web
    page = browser_page
    bodies = chat_requests(page)
    open_chat(page, url)
    user_bubbles = page.locator(".msg.user .bubble")

    # empty or blank input is not sent
    page.click("#send")
    page.fill("#input", "   \n  ")
    page.press("#input", "Enter")
    page.wait_for_timeout(500)
    assert bodies == [] and received == []
    expect(user_bubbles).to_have_count(0)

    # Shift+Enter is a new line, Enter sends
    page.fill("#input", "结婚登记")
    page.press("#input", "Shift+Enter")
    page.keyboard.type("要带什么")
    expect(page.locator("#input")).to_have_value("结婚登记\n要带什么")
    before = bot_count(page)
    page.press("#input", "Enter")
    expect(page.locator("#input")).to_have_value("")
    new = wait_for_answer(page, before)
    assert [(b["kind"], b["service"]) for b in new] == [("guide", "marriage.register")]
    assert bodies[-1]["text"] == "结婚登记\n要带什么"
    assert received[-1]["message"] == "结婚登记\n要带什么"

    # the bot's HTML is sanitised: <b> renders, the script is neither in the DOM nor run
    guide = page.locator(f'{BOT}[data-kind="guide"][data-service="marriage.register"]').last
    expect(guide.locator(".bubble b")).to_have_text("结婚登记")
    assert page.locator("#transcript script").count() == 0
    assert page.locator("script").count() == 2  # the page's own chat.js and its welcome data
    assert page.locator('script[src="/static/chat.js"], script#welcome-data[type="application/json"]').count() == 2
    assert "alert(1)" not in guide.inner_text()
    assert guide.evaluate("el => getComputedStyle(el.querySelector('.bubble')).whiteSpace") == "pre-wrap"

    # a button shows its title as the user's message and sends its payload
    before = bot_count(page)
    guide.get_by_role("button", name="所需材料").click()
    expect(user_bubbles.last).to_have_text("所需材料")
    wait_for_answer(page, before)
    assert bodies[-1] == {"payload": "/ask_materials"}
    assert received[-1]["message"] == "/ask_materials"

    # 1,500 characters are capped at 1,000, in the box and in what is sent
    box = page.locator("#input")
    assert box.get_attribute("maxlength") == "1000"
    long_text = "民政" * 750
    box.fill(long_text)
    assert len(box.input_value()) == 1000
    box.fill("")
    box.focus()
    page.keyboard.insert_text(long_text)
    assert box.input_value() == long_text[:1000]
    before = bot_count(page)
    page.click("#send")
    wait_for_answer(page, before)
    assert bodies[-1]["text"] == long_text[:1000]
    assert received[-1]["message"] == long_text[:1000]

    # the conversation is a server cookie the script cannot read; nothing in localStorage
    [cookie] = [c for c in page.context.cookies() if c["name"] == "minzheng_chat"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/"
    assert "minzheng_chat" not in page.evaluate("document.cookie")
    assert page.evaluate("localStorage.length") == 0
    senders = {r["sender"] for r in received}
    assert len(senders) == 1 and next(iter(senders)).startswith("web-")

    # a reload keeps the conversation
    count = page.locator(".msg").count()
    page.reload()
    expect(page.locator(".msg")).to_have_count(count)
    expect(user_bubbles.first).to_have_text("结婚登记\n要带什么")
    expect(page.locator(f'{BOT}[data-kind="welcome"]')).to_have_count(1)
    before = bot_count(page)
    ask(page, "还有呢")()
    wait_for_answer(page, before)
    assert {r["sender"] for r in received} == senders
    assert page.locator("#transcript script").count() == 0
    expect(page.locator(f'{BOT}[data-kind="guide"] .bubble b').first).to_have_text("结婚登记")

    assert_no_error_dump(page)
    assert page.problems == []


def test_a_kiosk_starts_afresh_after_inactivity(fake_web, browser_page):
    """30 minutes after the last message the next citizen sees only the welcome, and the
    server starts a new conversation (the cookie has expired in the browser)."""
    from playwright.sync_api import expect

    url, received = fake_web
    page = browser_page
    page.clock.install()  # time flows as usual until fast_forward
    open_chat(page, url)
    before = bot_count(page)
    ask(page, "结婚登记，我的电话13812345678")()
    wait_for_answer(page, before)
    first = received[-1]["sender"]

    page.reload()  # within the idle time the conversation stays
    expect(page.locator(".msg.user")).to_have_count(1)

    # half an hour later (the cookie's Max-Age is over: the browser dropped it)
    page.evaluate("sessionStorage.setItem('minzheng.last', String(Date.now() - 31 * 60 * 1000))")
    page.context.clear_cookies()
    page.reload()
    expect(page.locator(f'{BOT}[data-kind="welcome"]')).to_have_count(1)
    expect(page.locator(".msg.user")).to_have_count(0)
    assert "13812345678" not in page.locator("body").inner_text()
    before = bot_count(page)
    ask(page, "低保")()
    wait_for_answer(page, before)
    assert received[-1]["sender"] != first

    # the same without a reload: the page left open on the kiosk clears itself
    expect(page.locator(".msg.user")).to_have_count(1)
    page.clock.fast_forward("31:00")
    expect(page.locator(".msg.user")).to_have_count(0)
    expect(page.locator(f'{BOT}[data-kind="welcome"]')).to_have_count(1)
    assert page.problems == []


def test_rate_limit_is_a_polite_message(fake_web, browser_page, monkeypatch):
    from playwright.sync_api import expect

    from bot.web import guard

    monkeypatch.setitem(guard.LIMITS, "chat", (100, 2))
    url, received = fake_web
    page = browser_page
    open_chat(page, url)
    for text in ("一", "二", "三", "四"):
        before = bot_count(page)
        ask(page, text)()
        wait_for_answer(page, before)
    expect(page.locator(f'{BOT}[data-kind="rate_limited"]').last).to_contain_text("请稍后再试")
    assert len(received) == 3  # the first message has no conversation yet: only the client limit
    assert_no_error_dump(page)
    assert page.problems == []


def test_page_layout_and_accessibility(down_web, web_db, browser_page):
    """Static checks of the page: language, labels, live region, CSP-safe, fits 360px."""
    from playwright.sync_api import expect

    page = browser_page
    bodies = chat_requests(page)
    open_chat(page, down_web)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("h1")).to_have_text("民政助手")
    expect(page.locator("header")).to_contain_text("婚姻登记 · 殡葬服务 · 养老补贴 · 社会救助")
    expect(page.locator("footer")).to_contain_text("如需人工服务请拨打 12345")
    assert page.locator("#transcript").get_attribute("aria-live") == "polite"
    expect(page.get_by_label("请输入您的问题")).to_be_visible()
    expect(page.get_by_role("button", name="发送")).to_be_visible()

    welcome = page.locator(f'{BOT}[data-kind="welcome"]')
    titles = welcome.get_by_role("button").all_inner_texts()
    assert titles == menu_titles(web_db)  # the catalogue's menu, from the server
    assert titles[:2] == ["结婚登记", "离婚登记"] and "最低生活保障" in titles
    assert bodies == []  # the welcome is rendered without a request

    # nothing wider than the 360px window; large type
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#input')).fontSize)")
    assert size >= 17
    # keyboard only: Tab reaches the input and the send button
    page.locator("#input").focus()
    page.keyboard.press("Tab")
    if page.evaluate("document.activeElement.id") == "mic":  # 说话, where the browser recognises speech
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "send"

    # a welcome button works like any other
    before = bot_count(page)
    welcome.get_by_role("button", name="最低生活保障").click()
    wait_for_answer(page, before)
    assert bodies[-1]["payload"] == "/assistance_dibao"
    expect(page.locator(".msg.user .bubble")).to_have_text(["最低生活保障"])
    assert page.problems == []


def test_without_the_catalogue_the_welcome_still_works(uncatalogued_web, browser_page):
    """No catalogue (not loaded, database down): the server's basic welcome, 我能办什么 only."""
    from playwright.sync_api import expect

    page = browser_page
    bodies = chat_requests(page)
    open_chat(page, uncatalogued_web)
    welcome = page.locator(f'{BOT}[data-kind="welcome"]')
    expect(welcome.locator(".bubble")).to_contain_text("民政助手")
    assert welcome.get_by_role("button").all_inner_texts() == ["我能办什么"]
    before = bot_count(page)
    welcome.get_by_role("button", name="我能办什么").click()
    wait_for_answer(page, before)  # Rasa is down here: the apology, as for any message
    assert bodies == [{"payload": "/ask_capabilities"}]
    assert_no_error_dump(page)
    assert page.problems == []


@pytest.mark.parametrize("block", ["", "{not json", '{"text": 5, "buttons": "x"}', "null"])
def test_a_missing_or_broken_welcome_block_gives_the_page_s_own(down_web, browser_page, block):
    """The page without the server's welcome (served as a plain file, cut short, tampered
    with): chat.js's minimal welcome, no error."""
    from playwright.sync_api import expect

    page = browser_page

    def broken(route):
        html = route.fetch().text()
        html = re.sub(r'(<script id="welcome-data" type="application/json">).*?(</script>)',
                      lambda m: m.group(1) + block + m.group(2) if block else "", html, flags=re.S)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    page.route(down_web, broken)
    open_chat(page, down_web)
    welcome = page.locator(f'{BOT}[data-kind="welcome"]')
    expect(welcome.locator(".bubble")).to_contain_text("民政助手")
    assert welcome.get_by_role("button").all_inner_texts() == ["我能办什么"]
    assert_no_error_dump(page)
    assert page.problems == []


def test_a_saved_welcome_follows_the_page_s(down_web, web_db, browser_page):
    """A reload with a conversation on screen shows the welcome the page now carries (the
    menu changed in content meanwhile), not the one saved with the transcript."""
    from playwright.sync_api import expect

    page = browser_page
    open_chat(page, down_web)
    before = bot_count(page)
    ask(page, "低保")()
    wait_for_answer(page, before)
    welcome = page.locator(f'{BOT}[data-kind="welcome"]')
    assert welcome.get_by_role("button").all_inner_texts() == menu_titles(web_db)

    new = {"text": "新的欢迎语", "html": "新的<b>欢迎语</b>", "kind": "welcome", "service": None,
           "buttons": [{"title": "特困人员救助供养", "payload": "/assistance_tekun"},
                       {"title": "我能办什么", "payload": "/ask_capabilities"}]}

    def changed(route):
        html = route.fetch().text()
        html = re.sub(r'(<script id="welcome-data" type="application/json">).*?(</script>)',
                      lambda m: m.group(1) + json.dumps(new, ensure_ascii=False) + m.group(2), html, flags=re.S)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    page.route(down_web, changed)
    page.reload()
    expect(page.locator(".msg.user .bubble")).to_have_text(["低保"])  # the conversation stays
    expect(welcome).to_have_count(1)
    expect(welcome.locator(".bubble")).to_have_text("新的欢迎语")
    expect(welcome.locator(".bubble b")).to_have_text("欢迎语")
    assert welcome.get_by_role("button").all_inner_texts() == ["特困人员救助供养", "我能办什么"]
    assert page.problems == []


# -- QR-code entry points (/?entry=<id>) ---------------------------------------------


@pytest.fixture
def catalog_web(servers, catalog_url):
    """The web chat with the real catalogue in front of a fake Rasa; returns (page URL, received)."""
    received: List[Dict] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response(FAKE_REPLY)

    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", webhook)
    rasa_url = servers.serve(rasa)
    settings = Settings(db_url=catalog_url, rasa_url="", web_host="127.0.0.1", web_port=0, hotline="12345")
    return servers.serve(create_app(rasa_url=rasa_url, settings=settings)) + "/", received


def test_entry_parameter_is_sent_once_and_dropped_from_the_address(catalog_web, browser_page):
    from playwright.sync_api import expect

    url, received = catalog_web
    page = browser_page
    bodies = chat_requests(page)
    page.goto(url + "?entry=hz-xihu-marriage")
    expect(page.locator(f'{BOT}[data-kind="welcome"]')).to_be_visible()
    expect(page.locator(f'{BOT}[data-kind="guide"]')).to_be_visible()
    assert [b.get("entry") for b in bodies] == ["hz-xihu-marriage"]
    assert received[-1]["message"] == '/marriage_register{"entry":"hz-xihu-marriage"}'
    assert "entry=" not in page.url
    # no user bubble: the citizen did not type anything
    assert page.locator(".msg.user").count() == 0

    page.reload()
    expect(page.locator(f'{BOT}[data-kind="welcome"]')).to_be_visible()
    page.wait_for_timeout(500)
    assert len(received) == 1, "a reload must not open the entry point again"
    assert page.problems == []


@pytest.mark.parametrize("query", ["?entry=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "?entry=" + "a" * 65,
                                   "?entry=", "?entry=hz%20xihu"])
def test_malformed_entry_parameter_shows_the_normal_welcome(catalog_web, browser_page, query):
    from playwright.sync_api import expect

    url, received = catalog_web
    page = browser_page
    bodies = chat_requests(page)
    page.goto(url + query)
    expect(page.locator(f'{BOT}[data-kind="welcome"]')).to_be_visible()
    page.wait_for_timeout(500)
    assert bodies == [] and received == []
    assert_no_error_dump(page)
    assert page.problems == []


def test_unknown_entry_gets_the_welcome_from_the_bot(catalog_web, browser_page):
    from playwright.sync_api import expect

    url, received = catalog_web
    page = browser_page
    page.goto(url + "?entry=no-such-poster")
    expect(page.locator(f'{BOT}[data-kind="guide"]')).to_be_visible()  # the fake bot's answer
    assert received[-1]["message"] == "/greet"
    assert_no_error_dump(page)


def test_qr_entry_with_real_bot(live_stack, browser_page):
    from playwright.sync_api import expect

    page = browser_page
    page.goto(live_stack.web_url + "?entry=hz-xihu-marriage")
    guide = page.locator(f'{BOT}[data-kind="guide"][data-service="marriage.register"]')
    expect(guide.first).to_be_visible(timeout=90_000)
    expect(guide.first).to_contain_text("杭州市西湖区婚姻登记处（您扫码所在的办理点）")
    assert page.locator(f'{BOT}[data-kind="ask_region"]').count() == 0
    assert page.problems == []


def test_eligibility_form_with_buttons_in_the_web_chat(live_stack, browser_page):
    """A guided form in the browser: typed answers and form buttons whose payload is the
    answer in words (sent to the server as a payload, passed on as text)."""
    from playwright.sync_api import expect

    page = browser_page
    open_chat(page, live_stack.web_url)

    def answer(action: Callable[[], None]) -> List[Dict[str, str]]:
        before = bot_count(page)
        action()
        return wait_for_answer(page, before)

    def press(title: str) -> Callable[[], None]:
        return lambda: page.locator(f'{BOT}[data-kind="form_question"]').last.get_by_role(
            "button", name=title, exact=True).click()

    new = answer(ask(page, "帮我算算我妈能领哪些养老补贴"))
    assert any("多大年纪" in b["text"] for b in new), new
    new = answer(ask(page, "八十五岁"))
    assert any("哪个城市" in b["text"] for b in new), new
    new = answer(press("杭州"))
    assert any("户籍" in b["text"] for b in new), new
    answer(press("是"))
    answer(press("都不是"))
    new = answer(press("能自理"))
    result = [b for b in new if b["kind"] == "eligibility_result"]
    assert result and "高龄津贴" in result[0]["text"] and "【符合】" in result[0]["text"], new
    done = page.locator(f'{BOT}[data-kind="eligibility_result"]')
    expect(done.get_by_role("button", name="重新测算")).to_be_visible()
    assert_no_error_dump(page)
    assert page.problems == []
