"""长辈版 (issue 19): the MIIT 2021 适老化 numbers that axe-core does not check, measured in
headless Chromium on a phone-sized window: computed font sizes and line spacing, touch
targets, 转人工 and the hotline on every screen, keyboard-only use, the mode remembered
after a reload, read-aloud and the microphone only where the browser offers them, and
typed text kept over the kiosk's idle reset. Screenshots of both modes go to
reports/screenshots/ (git-ignored). A fake Rasa answers, as in test_webchat_browser.py.
"""
from __future__ import annotations

import json
import re
from typing import Dict, List

import pytest
from aiohttp import web

from bot.config import PROJECT_ROOT, Settings
from bot.web.server import create_app

from .test_webchat_browser import (  # noqa: F401  (fixtures)
    BOT, bot_count, chat_requests, menu_titles, servers, wait_for_answer, web_db,
)

pytestmark = pytest.mark.browser

SHOTS = PROJECT_ROOT / "reports" / "screenshots"
PHONE = {"width": 390, "height": 844}

GUIDE_TEXT = ("高龄津贴：年满80周岁的本地户籍老人可以申请，每月发放。\n\n"
              "杭州：80—89周岁每月100元，90—99周岁每月300元，100周岁及以上每月600元。"
              "由老人或家属到户籍所在地社区（村）提出申请，街道审核后按月发放到老人的社保卡。\n\n"
              "如需帮助，请拨打12345。")
SECTION_BUTTONS = [{"title": t, "payload": p} for t, p in (
    ("所需材料", "/ask_materials"), ("办理流程", "/ask_steps"), ("办理地点", "/ask_location"),
    ("政策依据", "政策依据"), ("完整指南", "/full_guide"), ("转人工", "/human_handoff"))]
FORM_BUTTONS = [{"title": t, "payload": t} for t in ("是", "否", "不清楚")]


def rasa_reply(message: str) -> List[Dict]:
    if message.startswith("/human_handoff") or message == "转人工":
        text = "好的，正在为您转接人工服务，请稍候。"
        return [{"text": text}, {"custom": {"kind": "handoff_queued", "service": None, "html": text}}]
    if "测算" in message or message == "/check_eligibility":
        text = "老人的户籍在杭州吗？"
        return [{"text": text, "buttons": FORM_BUTTONS},
                {"custom": {"kind": "form_question", "service": None, "html": text}}]
    html = GUIDE_TEXT.replace("高龄津贴：", "<b>高龄津贴</b>：")
    return [{"text": GUIDE_TEXT, "buttons": SECTION_BUTTONS},
            {"custom": {"kind": "guide", "service": "elder.age_allowance", "html": html}}]


@pytest.fixture
def elder_web(servers, web_db):  # noqa: F811
    """The web chat in front of a fake Rasa answering with a guide, a form question or a
    handoff; returns (page URL, the messages Rasa received)."""
    received: List[Dict] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(body)
        return web.json_response([{"recipient_id": body["sender"], **m} for m in rasa_reply(body["message"])])

    rasa = web.Application()
    rasa.router.add_post("/webhooks/rest/webhook", webhook)
    rasa_url = servers.serve(rasa)
    settings = Settings(db_url=web_db, rasa_url="", web_host="127.0.0.1", web_port=0, hotline="12345")
    return servers.serve(create_app(rasa_url=rasa_url, settings=settings)) + "/", received


SPEECH_STUB = """
(() => {
  window.__spoken = [];
  const voices = [{name: "Test English", lang: "en-US"}, {name: "测试普通话", lang: "zh-CN"}];
  class Utterance { constructor(text) { this.text = text; this.lang = ""; this.voice = null; this.rate = 1; } }
  window.SpeechSynthesisUtterance = Utterance;
  const synth = {
    getVoices: () => voices, speaking: false,
    speak(u) { window.__spoken.push({text: u.text, lang: u.lang, voice: u.voice && u.voice.lang}); },
    cancel() {}, addEventListener() {},
  };
  Object.defineProperty(window, "speechSynthesis", {value: synth, configurable: true});
})();
"""
NO_SPEECH = """
(() => {
  delete window.speechSynthesis; delete Window.prototype.speechSynthesis;
  delete window.SpeechSynthesisUtterance;
  delete window.SpeechRecognition; delete window.webkitSpeechRecognition;
})();
"""
ONLY_ENGLISH = SPEECH_STUB.replace('{name: "测试普通话", lang: "zh-CN"}', '{name: "粤语", lang: "zh-HK"}')
RECOGNITION_STUB = """
(() => {
  class Rec {
    start() { window.__rec = this; setTimeout(() => {
      this.onresult({results: [[{transcript: "高龄津贴怎么领"}]]}); this.onend(); }, 50); }
    stop() { this.onend(); }
  }
  window.SpeechRecognition = Rec;
  window.webkitSpeechRecognition = Rec;
})();
"""


def new_page(browser, *scripts, viewport=PHONE):
    context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
    for s in scripts:
        context.add_init_script(s)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"pageerror: {exc}"))
    return page


def open_chat(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator(f'{BOT}[data-kind="welcome"]')).to_be_visible()


def ask(page, text: str) -> List[Dict[str, str]]:
    before = bot_count(page)
    page.fill("#input", text)
    page.press("#input", "Enter")
    return wait_for_answer(page, before, timeout=20_000)


def to_elder(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="切换到长辈版（大字、大按钮）").click()
    expect(page.locator("html.elder")).to_have_count(1)


MEASURE = """
() => {
  const out = {text: [], targets: [], lines: []};
  const visible = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'
      && !el.closest('.sr-only'); };
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el)) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.nodeValue.trim());
    const s = getComputedStyle(el);
    if (own) {
      const fs = parseFloat(s.fontSize);
      const lh = s.lineHeight === 'normal' ? fs * 1.2 : parseFloat(s.lineHeight);
      out.text.push({sel: el.tagName + '.' + el.className, text: el.textContent.trim().slice(0, 20),
                     size: fs, ratio: lh / fs, main: !!el.closest('.bubble, .buttons, .tools, .help-bar, .composer')});
    }
    if (el.matches('a[href], button, textarea')) {
      const r = el.getBoundingClientRect();
      out.targets.push({sel: el.tagName + '#' + el.id + '.' + el.className, text: el.textContent.trim().slice(0, 20),
                        w: r.width, h: r.height});
    }
  }
  return out;
}
"""


def measure(page) -> Dict:
    page.evaluate("document.getElementById('transcript').scrollTop = 0")
    return page.evaluate(MEASURE)


def check_miit(page, elder: bool) -> Dict[str, float]:
    m = measure(page)
    small = [t for t in m["text"] if t["size"] < 18]
    assert not small, f"text under 18px: {small}"
    if elder:
        main = [t for t in m["text"] if t["main"]]
        assert main
        too_small = [t for t in main if t["size"] < 24]
        assert not too_small, f"长辈版 main text under 24px: {too_small}"
    tight = [t for t in m["text"] if t["ratio"] < 1.3 - 1e-6]
    assert not tight, f"line spacing under 1.3: {tight}"
    tiny = [t for t in m["targets"] if t["w"] < 60 or t["h"] < 60]
    assert not tiny, f"touch targets under 60x60: {tiny}"
    return {"min_text": min(t["size"] for t in m["text"]),
            "min_main": min(t["size"] for t in m["text"] if t["main"]),
            "min_ratio": min(t["ratio"] for t in m["text"]),
            "min_target_w": min(t["w"] for t in m["targets"]),
            "min_target_h": min(t["h"] for t in m["targets"])}


def help_visible(page) -> None:
    """转人工 and the hotline link: visible and inside the window, whatever the state."""
    from playwright.sync_api import expect

    handoff = page.get_by_role("button", name="转人工", exact=True).and_(page.locator("#handoff"))
    hotline = page.locator('a#hotline[href="tel:12345"]')
    for el in (handoff, hotline):
        expect(el).to_be_visible()
        box = el.bounding_box()
        vp = page.viewport_size
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= vp["height"], box


# -- the MIIT numbers ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["normal", "elder"])
def test_sizes_line_spacing_and_touch_targets(elder_web, browser, mode):
    from playwright.sync_api import expect

    url, _ = elder_web
    page = new_page(browser, SPEECH_STUB, RECOGNITION_STUB)
    open_chat(page, url)
    elder = mode == "elder"
    if elder:
        to_elder(page)
    numbers = {"welcome": check_miit(page, elder)}
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"chat-{mode}-welcome-390.png"))
    ask(page, "高龄津贴怎么领")
    expect(page.locator(f'{BOT}[data-kind="guide"]')).to_be_visible()
    numbers["guide"] = check_miit(page, elder)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(f'{BOT}[data-kind="guide"]').last.evaluate(
        "row => row.parentElement.scrollTop = row.offsetTop - 8")  # the reply's start, as the page shows it
    page.screenshot(path=str(SHOTS / f"chat-{mode}-390.png"))
    (SHOTS / f"miit-{mode}.json").write_text(json.dumps(numbers, indent=1))
    assert page.problems == []
    page.context.close()


def test_elder_mode_is_one_tap_and_remembered(elder_web, browser):
    from playwright.sync_api import expect

    url, _ = elder_web
    page = new_page(browser)
    open_chat(page, url)
    toggle = page.locator("#elder-toggle")
    assert toggle.get_attribute("aria-pressed") == "false"
    box = toggle.bounding_box()
    assert box["y"] < 120, "the 长辈版 switch is at the top of the page"
    normal = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.bubble')).fontSize)")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    big = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.bubble')).fontSize)")
    assert normal >= 18 and big >= 24
    # only the preference is stored on the device, nothing personal
    ask(page, "我叫张三，电话13812345678，高龄津贴")
    stored = page.evaluate("Object.fromEntries(Object.entries(localStorage))")
    assert stored == {"minzheng.mode": "elder"}
    page.reload()
    expect(page.locator("html.elder")).to_have_count(1)
    expect(page.locator("#elder-toggle")).to_have_attribute("aria-pressed", "true")
    page.locator("#elder-toggle").click()  # back to the normal mode: forgotten
    assert page.evaluate("localStorage.length") == 0
    page.reload()
    expect(page.locator("html.elder")).to_have_count(0)
    assert page.problems == []
    page.context.close()


def test_elder_welcome_is_the_short_text_with_the_catalogue_menu(elder_web, web_db, browser):  # noqa: F811
    from playwright.sync_api import expect

    url, _ = elder_web
    page = new_page(browser)
    open_chat(page, url)
    welcome = page.locator(f'{BOT}[data-kind="welcome"]')
    buttons = welcome.locator(".buttons button")
    assert buttons.all_inner_texts() == menu_titles(web_db)  # from the server: the content's menu
    full = welcome.locator(".bubble").inner_text()
    to_elder(page)
    expect(welcome.locator(".bubble")).to_have_text(re.compile(r"^您好！我是民政助手。请点下面的按钮"))
    assert len(welcome.locator(".bubble").inner_text()) < len(full)
    assert buttons.all_inner_texts() == menu_titles(web_db)  # the same service buttons
    page.reload()  # remembered: the page opens in 长辈版 with the same welcome
    expect(page.locator("html.elder")).to_have_count(1)
    expect(welcome.locator(".bubble")).to_have_text(re.compile(r"^您好！我是民政助手。请点下面的按钮"))
    assert buttons.all_inner_texts() == menu_titles(web_db)
    assert page.problems == []
    page.context.close()


def test_a_qr_link_with_mode_elder_opens_in_elder_mode(elder_web, browser):
    from playwright.sync_api import expect

    url, received = elder_web
    page = new_page(browser)
    bodies = chat_requests(page)
    page.goto(url + "?entry=hz-age-allowance&mode=elder")
    expect(page.locator("html.elder")).to_have_count(1)
    expect(page.locator(f'{BOT}[data-kind="guide"]')).to_be_visible()
    assert [b.get("entry") for b in bodies] == ["hz-age-allowance"]
    assert "mode=" not in page.url and "entry=" not in page.url
    page.reload()
    expect(page.locator("html.elder")).to_have_count(1)  # remembered
    assert page.problems == []
    page.context.close()


def test_elder_first_reply_is_short_with_big_section_buttons(elder_web, browser):
    from playwright.sync_api import expect

    url, _ = elder_web
    page = new_page(browser)
    open_chat(page, url)
    to_elder(page)
    ask(page, "高龄津贴")
    guide = page.locator(f'{BOT}[data-kind="guide"]').last
    bubble = guide.locator(".bubble")
    expect(bubble).to_have_text(GUIDE_TEXT.split("\n\n")[0])  # the answer in plain words first
    for title in ("所需材料", "办理流程", "办理地点"):
        box = guide.get_by_role("button", name=title, exact=True).bounding_box()
        assert box["height"] >= 60 and box["width"] >= 120, (title, box)
    more = guide.get_by_role("button", name="展开全文")
    more.click()
    expect(bubble).to_contain_text("社保卡")
    expect(guide.get_by_role("button", name="展开全文")).to_have_count(0)
    page.reload()  # stays expanded
    expect(page.locator(f'{BOT}[data-kind="guide"] .bubble').last).to_contain_text("社保卡")
    # the normal mode shows the whole reply
    page.locator("#elder-toggle").click()
    expect(page.locator(f'{BOT}[data-kind="guide"] .bubble').last).to_contain_text("社保卡")
    assert page.problems == []
    page.context.close()


# -- 转人工 and the hotline on every screen --------------------------------------------


@pytest.mark.parametrize("mode", ["normal", "elder"])
def test_handoff_and_hotline_visible_in_every_state(elder_web, browser, mode):
    from playwright.sync_api import expect

    url, received = elder_web
    page = new_page(browser)
    open_chat(page, url)
    if mode == "elder":
        to_elder(page)
    help_visible(page)  # the welcome
    ask(page, "高龄津贴")
    help_visible(page)  # a guide
    page.locator("#transcript").evaluate("t => t.scrollTop = t.scrollHeight")
    help_visible(page)  # scrolled to the end
    ask(page, "帮我测算")
    help_visible(page)  # a form question
    page.locator("#input").focus()
    help_visible(page)  # typing

    # the network down: the error bubble
    page.route("**/api/chat", lambda route: route.abort())
    ask(page, "断网了")
    help_visible(page)
    page.unroute("**/api/chat")

    # waiting for an answer; 转人工 itself works with one tap, even then
    page.route("**/api/chat", lambda route: page.wait_for_timeout(800) or route.continue_())
    page.fill("#input", "慢一点的问题")
    page.press("#input", "Enter")
    expect(page.locator("#typing")).to_be_visible()
    help_visible(page)
    page.locator("#handoff").click()  # tapped while waiting: sent once the answer is in
    expect(page.locator(f'{BOT}[data-kind="handoff_queued"]')).to_have_count(1)
    assert [r["message"] for r in received[-2:]] == ["慢一点的问题", "/human_handoff"]
    page.wait_for_selector("#typing", state="detached")
    page.unroute("**/api/chat")

    expect(page.locator(f'{BOT}[data-kind="handoff_queued"]')).to_be_visible()
    help_visible(page)  # waiting for a person
    before = bot_count(page)
    page.locator("#handoff").click()  # tapped again while waiting: a reassurance, not silence
    [again] = wait_for_answer(page, before, timeout=20_000)
    assert again["kind"] == "handoff_waiting" and "12345" in again["text"]
    assert page.problems == []
    page.context.close()


# -- keyboard only -------------------------------------------------------------------


def focused(page) -> Dict:
    return page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
        return {tag: e.tagName, id: e.id, cls: e.className, text: (e.textContent || '').trim().slice(0, 20),
                outline: parseFloat(s.outlineWidth), style: s.outlineStyle}; }""")


def tab_to(page, predicate, limit: int = 40) -> Dict:
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        f = focused(page)
        seen.append(f["id"] or f["text"])
        if f["tag"] == "BODY":  # past the last element: the browser's own controls, then round again
            continue
        assert f["outline"] >= 3 and f["style"] != "none", f"focus not visible on {f}"
        if predicate(f):
            return f
    raise AssertionError(f"not reached by Tab: {seen}")


def test_the_whole_flow_with_the_keyboard_alone(elder_web, browser):
    from playwright.sync_api import expect

    url, received = elder_web
    page = new_page(browser, SPEECH_STUB)
    open_chat(page, url)
    # a sensible order: the mode switch, 转人工, the hotline, the conversation, its buttons, the input
    order = []
    for _ in range(6):
        page.keyboard.press("Tab")
        order.append(focused(page)["id"] or focused(page)["text"])
    # ... the reply, 朗读 right after its text, then its buttons
    assert order == ["elder-toggle", "handoff", "hotline", "transcript", "朗读", "结婚登记"], order

    # 长辈版 with the keyboard
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
    assert focused(page)["id"] == "elder-toggle"
    page.keyboard.press("Enter")
    expect(page.locator("html.elder")).to_have_count(1)

    # a welcome button with the keyboard
    tab_to(page, lambda f: f["text"] == "高龄津贴")
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_for_answer(page, before, timeout=20_000)
    assert received[-1]["message"] == "/elder_age_allowance"

    # 展开全文, 朗读 and a section button of the guide
    tab_to(page, lambda f: f["text"] == "展开全文")
    page.keyboard.press("Enter")
    expect(page.locator(f'{BOT}[data-kind="guide"] .bubble').last).to_contain_text("社保卡")
    tab_to(page, lambda f: f["text"] == "朗读")
    page.keyboard.press("Enter")
    assert page.evaluate("window.__spoken.length") == 1
    tab_to(page, lambda f: f["text"] == "所需材料")
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_for_answer(page, before, timeout=20_000)
    assert received[-1]["message"] == "/ask_materials"

    # type a question and send it
    tab_to(page, lambda f: f["id"] == "input")
    page.keyboard.type("低保怎么申请")
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_for_answer(page, before, timeout=20_000)
    assert received[-1]["message"] == "低保怎么申请"
    assert focused(page)["id"] == "input"
    tab_to(page, lambda f: f["id"] == "send")

    # and reach a person
    tab_to(page, lambda f: f["id"] == "handoff")
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_for_answer(page, before, timeout=20_000)
    assert received[-1]["message"] == "/human_handoff"
    assert page.problems == []
    page.context.close()


# -- read aloud and speech input --------------------------------------------------------


def test_read_aloud_where_a_chinese_voice_exists(elder_web, browser):
    from playwright.sync_api import expect

    url, _ = elder_web
    page = new_page(browser, SPEECH_STUB)
    open_chat(page, url)
    ask(page, "高龄津贴")
    guide = page.locator(f'{BOT}[data-kind="guide"]').last
    speak = guide.get_by_role("button", name="朗读")
    expect(speak).to_be_visible()
    speak.click()
    [said] = page.evaluate("window.__spoken")
    assert said["lang"] == "zh-CN" and said["voice"] == "zh-CN"
    assert said["text"].startswith("高龄津贴") and "社保卡" in said["text"]
    expect(guide.get_by_role("button", name="停止朗读")).to_be_visible()

    # 长辈版 reads every reply aloud once 自动朗读 is on
    expect(page.locator("#auto-read")).to_be_hidden()  # only in 长辈版
    to_elder(page)
    auto = page.locator("#auto-read")
    expect(auto).to_be_visible()
    auto.click()
    expect(auto).to_have_attribute("aria-pressed", "true")
    n = page.evaluate("window.__spoken.length")
    ask(page, "高龄津贴")
    spoken = page.evaluate("window.__spoken")
    assert len(spoken) == n + 1 and spoken[-1]["text"].startswith("高龄津贴")
    page.reload()  # the preference is remembered too
    expect(page.locator("#auto-read")).to_have_attribute("aria-pressed", "true")
    assert page.problems == []
    page.context.close()


@pytest.mark.parametrize("stub", [NO_SPEECH, ONLY_ENGLISH], ids=["no-speech-api", "no-mandarin-voice"])
def test_no_read_aloud_or_microphone_where_the_browser_has_none(elder_web, browser, stub):
    from playwright.sync_api import expect

    url, _ = elder_web
    page = new_page(browser, stub)
    open_chat(page, url)
    ask(page, "高龄津贴")
    expect(page.locator(f'{BOT}[data-kind="guide"]')).to_be_visible()
    assert page.get_by_role("button", name="朗读").count() == 0
    to_elder(page)
    expect(page.locator("#auto-read")).to_be_hidden()
    assert page.get_by_role("button", name="朗读").count() == 0
    if stub is NO_SPEECH:
        expect(page.locator("#mic")).to_be_hidden()
    assert page.problems == []
    page.context.close()


def test_speak_instead_of_typing(elder_web, browser):
    from playwright.sync_api import expect

    url, received = elder_web
    page = new_page(browser, RECOGNITION_STUB)
    open_chat(page, url)
    to_elder(page)
    mic = page.get_by_role("button", name="说话：按一下，然后说出您的问题")
    expect(mic).to_be_visible()
    box = mic.bounding_box()
    assert box["width"] >= 60 and box["height"] >= 60
    mic.click()
    expect(page.locator("#input")).to_have_value("高龄津贴怎么领")
    expect(page.locator("#mic-status")).to_contain_text("发送")
    assert page.evaluate("window.__rec.lang") == "zh-CN"
    assert page.evaluate("document.activeElement.id") == "send"
    before = bot_count(page)
    page.keyboard.press("Enter")  # or a tap on 发送
    wait_for_answer(page, before, timeout=20_000)
    assert received[-1]["message"] == "高龄津贴怎么领"
    assert page.problems == []
    page.context.close()


# -- no time limit on answering -------------------------------------------------------


def test_the_idle_reset_never_loses_typed_text(elder_web, browser):
    from playwright.sync_api import expect

    url, received = elder_web
    page = new_page(browser)
    page.clock.install()
    open_chat(page, url)
    to_elder(page)
    ask(page, "高龄津贴")
    first = received[-1]["sender"]
    box = page.locator("#input")
    box.fill("我妈妈")
    page.clock.fast_forward("20:00")  # slow typing: past the kiosk's idle time since the last message
    box.press("End")
    page.keyboard.type("今年八十")
    page.clock.fast_forward("20:00")
    page.wait_for_timeout(300)
    expect(box).to_have_value("我妈妈今年八十")
    expect(page.locator(f'{BOT}[data-kind="guide"]')).to_have_count(1)  # the question stays on screen
    # left alone for another half hour: the screen is cleared, the typed text is not
    page.clock.fast_forward("31:00")
    expect(page.locator(f'{BOT}[data-kind="guide"]')).to_have_count(0)
    expect(box).to_have_value("我妈妈今年八十")
    page.context.clear_cookies()  # the server's conversation cookie has expired meanwhile
    before = bot_count(page)
    page.press("#input", "Enter")
    page.wait_for_function("n => !document.getElementById('typing') && "
                           "document.querySelectorAll('.msg.user').length === 1", arg=before)
    assert received[-1]["message"] == "我妈妈今年八十"
    assert received[-1]["sender"] != first  # a new conversation
    expect(page.locator(".msg.user .bubble")).to_have_text(["我妈妈今年八十"])

    # an empty box on an abandoned kiosk is still cleared
    page.clock.fast_forward("31:00")
    expect(page.locator(".msg.user")).to_have_count(0)
    assert page.problems == []
    page.context.close()


# -- the entry-point option (no browser needed) -----------------------------------------


def test_entry_points_can_open_in_elder_mode(tmp_path):
    from bot import entry
    from bot.catalog.loader import load_content
    from bot.config import CONTENT_DIR

    content = load_content(CONTENT_DIR)  # the schema accepts the field
    flagged = {ep.id for ep in content.entry_points if ep.elder_mode}
    assert flagged == entry.elder_entries() and "hz-age-allowance" in flagged
    assert entry.elder_mode("hz-age-allowance") and not entry.elder_mode("hz-xihu-marriage")
    assert not entry.elder_mode("<script>") and not entry.elder_mode(None)
    assert entry.web_link("https://chat.example.gov.cn/", "hz-age-allowance", elder=True) == \
        "https://chat.example.gov.cn/?entry=hz-age-allowance&mode=elder"
    assert entry.web_link("https://chat.example.gov.cn", "hz-funeral") == "https://chat.example.gov.cn/?entry=hz-funeral"
    (tmp_path / "entry_points.yml").write_text("entry_points: []\n")
    assert entry.elder_entries(tmp_path) == frozenset()
