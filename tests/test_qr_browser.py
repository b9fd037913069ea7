"""The printable posters in headless Chromium (Debian's package): the QR code is big
enough to scan from a wall, the page prints on exactly one A4 sheet, and the code as
the browser draws it still decodes to the right link."""
from __future__ import annotations

import io
import re

import pytest

from bot import qr

pytestmark = pytest.mark.browser
BOT = "MinzhengHelperBot"
MM_PER_PX = 25.4 / 96  # CSS pixels


@pytest.fixture(scope="module")
def posters(tmp_path_factory, catalog):
    out = tmp_path_factory.mktemp("posters")
    tg = qr.write_all(catalog, "telegram", out / "telegram", bot_username=BOT)
    web = qr.write_all(catalog, "web", out / "web", web_url="https://chat.example.gov.cn")
    return out, tg, web


def _page(browser, path):
    page = browser.new_page(viewport={"width": 900, "height": 1300})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page


def _decode(png: bytes) -> list[str]:
    from PIL import Image
    from pyzbar.pyzbar import decode

    return [s.data.decode("utf-8") for s in decode(Image.open(io.BytesIO(png)))]


@pytest.mark.parametrize("target", ["telegram", "web"])
def test_every_poster_prints_on_one_a4_page_with_a_scannable_code(browser, posters, target):
    out, tg, web = posters
    chosen = tg if target == "telegram" else web
    assert chosen, "the catalogue has entry points"
    for poster in chosen:
        page = _page(browser, out / target / f"{poster.entry.id}.html")
        try:
            box = page.locator("div.qr").bounding_box()
            assert box is not None
            # at least 5 cm on paper: scannable from about half a metre
            assert box["width"] * MM_PER_PX >= 50 and box["height"] * MM_PER_PX >= 50
            # the whole poster fits its A4 page: nothing is cut off by the frame
            overflow = page.evaluate(
                "() => { const p = document.querySelector('.poster');"
                " return p.scrollHeight - p.clientHeight; }")
            assert overflow <= 1, f"{poster.entry.id}: content overflows the poster by {overflow}px"
            pdf = page.pdf(format="A4", print_background=True)
            pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
            assert pages == 1, f"{poster.entry.id} prints on {pages} pages"
            # what the browser draws decodes to the link (not only the PNG file)
            shot = page.locator("div.qr").screenshot()
            assert _decode(shot) == [poster.link]
            # and the office details are on the page
            text = page.inner_text("main")
            assert poster.service_name in text and poster.link in text
            if poster.office:
                assert poster.office.address in text
        finally:
            page.close()


def test_index_links_every_poster(browser, posters):
    out, tg, _ = posters
    page = _page(browser, out / "telegram" / "index.html")
    try:
        hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
        for poster in tg:
            assert f"{poster.entry.id}.html" in hrefs
            assert f"{poster.entry.id}.png" in hrefs
    finally:
        page.close()
