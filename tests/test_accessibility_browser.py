"""axe-core (bundled by the axe-playwright-python package: nothing is downloaded) in
headless Chromium: no serious or critical violation on the web chat (both modes, with a
guide and with a guided form open) or on the staff console (login, the desk with a
handoff open, the overview). Issue 19; the MIIT numbers axe does not cover are in
test_elder_mode_browser.py.
"""
from __future__ import annotations

import json
from typing import Dict, List

import pytest
import requests

from bot.config import PROJECT_ROOT

from .test_elder_mode_browser import PHONE, ask, elder_web, open_chat, to_elder  # noqa: F401
from .test_handoff_browser import PASSWORD, stack  # noqa: F401
from .test_webchat_browser import BOT, servers, web_db  # noqa: F401

pytestmark = pytest.mark.browser

REPORT = PROJECT_ROOT / "reports" / "axe"
# WCAG 2.1 A/AA (contrast 4.5:1, names, roles, keyboard) and the best-practice rules
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page, name: str) -> List[Dict]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS},
                                       "resultTypes": ["violations"]})
    violations = results.response["violations"]
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / f"{name}.json").write_text(json.dumps(violations, ensure_ascii=False, indent=1))
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in violations if v["impact"] in ("serious", "critical")]


def new_page(browser, viewport=PHONE):
    context = browser.new_context(viewport=viewport, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


@pytest.mark.parametrize("mode", ["normal", "elder"])
def test_chat_page_has_no_serious_violations(elder_web, browser, mode):  # noqa: F811
    from playwright.sync_api import expect

    url, _ = elder_web
    page = new_page(browser)
    try:
        open_chat(page, url)
        if mode == "elder":
            to_elder(page)
        assert axe_violations(page, f"chat-{mode}-welcome") == []
        ask(page, "高龄津贴怎么领")
        expect(page.locator(f'{BOT}[data-kind="guide"]')).to_be_visible()
        assert axe_violations(page, f"chat-{mode}-guide") == []
        ask(page, "帮我测算")
        expect(page.locator(f'{BOT}[data-kind="form_question"]')).to_be_visible()
        page.locator("#input").focus()
        assert axe_violations(page, f"chat-{mode}-form") == []
    finally:
        page.context.close()


def test_console_pages_have_no_serious_violations(stack, browser):  # noqa: F811
    base, _ = stack
    citizen = new_page(browser)
    console = new_page(browser, viewport={"width": 1400, "height": 900})
    try:
        console.goto(base + "/console/")
        console.wait_for_selector("#password")
        assert axe_violations(console, "console-login") == []
        console.fill("#name", "night.op")
        console.fill("#password", "wrong password")
        console.click("button[type=submit]")
        console.wait_for_selector(".error")
        assert axe_violations(console, "console-login-error") == []
        console.fill("#name", "night.op")
        console.fill("#password", PASSWORD)
        console.click("button[type=submit]")
        console.wait_for_selector("#caller-text")
        assert axe_violations(console, "console-home") == []

        citizen.goto(base + "/")
        citizen.fill("#input", "转人工")
        citizen.press("#input", "Enter")
        citizen.wait_for_selector(".msg.bot:has-text('正在为您转接人工服务')")
        take = console.wait_for_selector("#queue button.take")
        assert axe_violations(console, "console-home-queue") == []
        take.click()
        console.wait_for_selector("#conversation:not([hidden])")
        console.type("#caller-text", "家里困难想申请低保", delay=10)
        console.wait_for_selector("#candidates li button:has-text('最低生活保障')")
        console.locator("#candidates li button").first.click()
        console.wait_for_selector("#guide-section:not([hidden])")
        assert axe_violations(console, "console-home-handoff") == []

        console.goto(base + "/console/overview")
        console.wait_for_selector("#kpi-questions")
        assert axe_violations(console, "console-overview") == []
    finally:
        citizen.context.close()
        console.context.close()


def test_console_keyboard_and_focus(stack, browser):  # noqa: F811
    """The console by keyboard alone: sign in, reach the assist box and a candidate,
    each focus visible (an outline of at least 3px)."""
    base, _ = stack
    page = new_page(browser, viewport={"width": 1400, "height": 900})

    def focus() -> Dict:
        return page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            return {id: e.id, tag: e.tagName, text: (e.textContent || '').trim().slice(0, 20),
                    outline: parseFloat(s.outlineWidth), style: s.outlineStyle}; }""")

    try:
        page.goto(base + "/console/")
        page.keyboard.press("Tab")
        assert focus()["id"] == "name"
        page.keyboard.type("night.op")
        page.keyboard.press("Tab")
        assert focus()["id"] == "password"
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Tab")
        f = focus()
        assert f["tag"] == "BUTTON" and f["outline"] >= 3 and f["style"] != "none", f
        page.keyboard.press("Enter")
        page.wait_for_selector("#caller-text")
        seen = []
        for _ in range(8):
            page.keyboard.press("Tab")
            f = focus()
            seen.append(f["id"] or f["text"])
            assert f["outline"] >= 3 and f["style"] != "none", f"focus not visible on {f}"
            if f["id"] == "caller-text":
                break
        assert seen[-1] == "caller-text", seen
        page.keyboard.type("家里困难想申请低保")
        page.wait_for_selector("#candidates li button:has-text('最低生活保障')")
        for _ in range(6):
            page.keyboard.press("Tab")
            f = focus()
            assert f["outline"] >= 3 and f["style"] != "none", f"focus not visible on {f}"
            if "最低生活保障" in f["text"]:
                break
        assert "最低生活保障" in focus()["text"], seen
        page.keyboard.press("Enter")
        page.wait_for_selector("#guide-section:not([hidden])")
    finally:
        page.context.close()


def test_console_login_is_still_served_without_a_browser(stack):  # noqa: F811
    """The console pages still load without a browser (a smoke check for the template edits)."""
    base, _ = stack
    r = requests.get(base + "/console/login", timeout=10)
    assert r.status_code == 200 and "工作人员登录" in r.text
