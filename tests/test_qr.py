"""QR codes and posters (bot/qr.py, ``python -m bot qr``).

The generated PNGs are decoded with zbar (pyzbar + Debian's libzbar0), so the
tests check what a phone camera would read, not what we meant to encode.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import qr
from bot.catalog.loader import load_content, write_catalog
from bot.catalog.migrate import upgrade
from bot.catalog.queries import Catalog
from bot.config import PROJECT_ROOT

BOT = "MinzhengHelperBot"
WEB = "https://chat.example.gov.cn/minzheng"


def decode_png(path: Path) -> list[str]:
    try:
        from PIL import Image
        from pyzbar.pyzbar import decode
    except ImportError as exc:  # libzbar0 missing
        if os.environ.get("CI"):
            pytest.fail(f"cannot decode QR codes: {exc}")
        pytest.skip(f"cannot decode QR codes: {exc} (apt-get install libzbar0)")
    with Image.open(path) as img:
        return [sym.data.decode("utf-8") for sym in decode(img)]


@pytest.fixture(scope="module")
def telegram_out(tmp_path_factory, catalog):
    out = tmp_path_factory.mktemp("qr-telegram")
    posters = qr.write_all(catalog, "telegram", out, bot_username=BOT)
    return out, posters


@pytest.fixture(scope="module")
def web_out(tmp_path_factory, catalog):
    out = tmp_path_factory.mktemp("qr-web")
    posters = qr.write_all(catalog, "web", out, web_url=WEB + "/")
    return out, posters


# -- links ------------------------------------------------------------------------------


def test_links_for_both_targets():
    assert qr.link_for("telegram", "hz-funeral", bot_username="@" + BOT) == f"https://t.me/{BOT}?start=hz-funeral"
    assert qr.link_for("web", "hz-funeral", web_url=WEB + "/") == f"{WEB}/?entry=hz-funeral"


@pytest.mark.parametrize("name", ["", None, "ab", "has space bot", "名字bot", "minzheng_helper", "a" * 40 + "bot",
                                  "_startbot", "bot"])
def test_bad_bot_usernames_are_refused(name):
    with pytest.raises(qr.QRError):
        qr.check_bot_username(name)


@pytest.mark.parametrize("url", ["", "ftp://x.cn", "chat.example.cn", "https://x.cn/?entry=a", "https://x.cn/#f",
                                 "javascript:alert(1)"])
def test_bad_web_urls_are_refused(url):
    with pytest.raises(qr.QRError):
        qr.check_web_url(url)


@pytest.mark.parametrize("bad", ["", "a b", "x" * 65, "../etc", "测试", "a?b"])
def test_link_refuses_invalid_entry_ids(bad):
    with pytest.raises(qr.QRError):
        qr.link_for("web", bad, web_url=WEB)


# -- every entry point, both targets: the image carries the right link ---------------------


def test_every_entry_point_gets_png_svg_and_poster(telegram_out, catalog):
    out, posters = telegram_out
    ids = {ep.id for ep in catalog.entry_points()}
    assert ids, "the catalogue has entry points"
    assert {p.entry.id for p in posters} == ids
    for entry_id in ids:
        for ext in ("png", "svg", "html"):
            assert (out / f"{entry_id}.{ext}").stat().st_size > 0, f"{entry_id}.{ext}"
    index = (out / "index.html").read_text(encoding="utf-8")
    for entry_id in ids:
        assert f'href="{entry_id}.html"' in index


@pytest.mark.parametrize("fixture,expected", [
    ("telegram_out", "https://t.me/" + BOT + "?start={id}"),
    ("web_out", WEB + "/?entry={id}"),
])
def test_png_decodes_to_the_entry_link(request, fixture, expected):
    out, posters = request.getfixturevalue(fixture)
    from bot import entry

    for p in posters:
        link = expected.format(id=p.entry.id)
        if fixture == "web_out" and entry.elder_mode(p.entry.id):
            link += "&mode=elder"  # posters for elder services open in 长辈版
        assert p.link == link
        assert decode_png(out / f"{p.entry.id}.png") == [link]


def test_decoded_link_leads_back_to_the_same_entry_point(web_out, catalog):
    """What the phone reads is what the web chat looks up: the round trip is closed."""
    from urllib.parse import parse_qs, urlsplit

    from bot import entry

    out, posters = web_out
    for p in posters:
        (link,) = decode_png(out / f"{p.entry.id}.png")
        entry_id = parse_qs(urlsplit(link).query)["entry"][0]
        ep = entry.lookup(catalog, entry_id)
        assert ep is not None and ep.service == p.entry.service and ep.office == p.entry.office


def test_svg_is_a_well_formed_qr(telegram_out):
    import xml.etree.ElementTree as ET

    out, posters = telegram_out
    root = ET.parse(out / f"{posters[0].entry.id}.svg").getroot()
    assert root.tag.endswith("svg")
    assert root.find(".//{http://www.w3.org/2000/svg}path") is not None


def test_error_correction_and_quiet_zone():
    code = qr.make_qr(qr.link_for("telegram", "hz-xihu-marriage", bot_username=BOT))
    assert code.error == "Q"
    assert not code.is_micro
    svg = qr.svg_markup(code)
    # the inline SVG is sized by the poster's CSS, not fixed in pixels
    assert 'class="qr"' in svg and "<?xml" not in svg and 'width="' not in svg.split(">", 1)[0]


# -- poster content ------------------------------------------------------------------------


def test_poster_shows_service_office_and_instruction(telegram_out, catalog):
    out, posters = telegram_out
    p = next(p for p in posters if p.entry.id == "hz-xihu-marriage")
    html = (out / "hz-xihu-marriage.html").read_text(encoding="utf-8")
    office = catalog.office("zhejiang-hangzhou-xihu-marriage")
    assert "<h1>结婚登记</h1>" in html
    assert office.name in html and office.address in html and office.hours in html
    assert "扫描二维码" in html and "Telegram" in html
    assert p.link in html  # typed by hand when the camera fails
    assert re.search(r"热线 \d+", html)
    if office.sample:
        assert "示例数据" in html


def test_web_poster_says_no_app_is_needed(web_out):
    out, _ = web_out
    html = (out / "hz-funeral.html").read_text(encoding="utf-8")
    assert "无需下载应用" in html and "Telegram" not in html


def test_poster_escapes_catalogue_text(tmp_path, content_copy):
    path = content_copy / "entry_points.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["entry_points"][0]["label"] = '<script>alert("x")</script> & 窗口'
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    write_catalog(url, load_content(content_copy))
    cat = Catalog(url)
    entry_id = data["entry_points"][0]["id"]
    qr.write_all(cat, "web", tmp_path / "out", entry_id, web_url=WEB)
    html = (tmp_path / "out" / f"{entry_id}.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; 窗口" in html


def test_one_entry_writes_only_that_poster(tmp_path, catalog):
    posters = qr.write_all(catalog, "web", tmp_path, "cz-marriage", web_url=WEB)
    assert [p.entry.id for p in posters] == ["cz-marriage"]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["cz-marriage.html", "cz-marriage.png", "cz-marriage.svg"]


def test_unknown_entry_names_the_known_ones(tmp_path, catalog):
    with pytest.raises(qr.QRError, match="hz-funeral"):
        qr.write_all(catalog, "web", tmp_path, "no-such-entry", web_url=WEB)
    assert not any(tmp_path.iterdir())


def test_bad_options_write_nothing(tmp_path, catalog):
    with pytest.raises(qr.QRError, match="username"):
        qr.write_all(catalog, "telegram", tmp_path / "a", bot_username=None)
    with pytest.raises(qr.QRError):
        qr.write_all(catalog, "nfc", tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# -- the command line ------------------------------------------------------------------------


def run_cli(catalog_url: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_USERNAME", "MINZHENG_PUBLIC_URL")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", "--db-url", catalog_url, "qr", *args],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, env=full_env, timeout=120)


def test_cli_writes_telegram_posters(tmp_path, catalog_url):
    res = run_cli(catalog_url, "hz-xihu-divorce", "--out", str(tmp_path), env={"TELEGRAM_BOT_USERNAME": BOT})
    assert res.returncode == 0, res.stderr
    assert f"https://t.me/{BOT}?start=hz-xihu-divorce" in res.stdout
    assert decode_png(tmp_path / "hz-xihu-divorce.png") == [f"https://t.me/{BOT}?start=hz-xihu-divorce"]


def test_cli_writes_all_web_posters(tmp_path, catalog_url, catalog):
    res = run_cli(catalog_url, "--target", "web", "--web-url", WEB, "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert f"({len(catalog.entry_points())} posters)" in res.stdout
    assert (tmp_path / "index.html").exists()


def test_cli_default_target_follows_the_bot_username(tmp_path, catalog_url):
    res = run_cli(catalog_url, "hz-funeral", "--out", str(tmp_path / "web"), env={"MINZHENG_PUBLIC_URL": WEB})
    assert res.returncode == 0, res.stderr
    assert decode_png(tmp_path / "web" / "hz-funeral.png") == [f"{WEB}/?entry=hz-funeral"]
    res = run_cli(catalog_url, "hz-funeral", "--out", str(tmp_path / "tg"), env={"TELEGRAM_BOT_USERNAME": BOT})
    assert res.returncode == 0, res.stderr
    assert decode_png(tmp_path / "tg" / "hz-funeral.png") == [f"https://t.me/{BOT}?start=hz-funeral"]


@pytest.mark.parametrize("args,message", [
    (["no-such-entry", "--bot-username", BOT], "unknown entry point 'no-such-entry'; known: "),
    (["--target", "telegram"], "a Telegram bot username is needed"),
    (["--target", "telegram", "--bot-username", "not a bot"], "not a Telegram bot username"),
    (["--target", "web", "--web-url", "ftp://x"], "not a web chat address"),
])
def test_cli_errors_are_one_line_and_exit_1(tmp_path, catalog_url, args, message):
    res = run_cli(catalog_url, *args, "--out", str(tmp_path / "out"))
    assert res.returncode == 1
    assert res.stderr.startswith("error: ") and message in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_cli_on_a_catalogue_never_loaded_says_so_and_creates_nothing(tmp_path):
    db = tmp_path / "never-loaded.db"
    res = run_cli(f"sqlite:///{db}", "--out", str(tmp_path / "out"), env={"MINZHENG_PUBLIC_URL": WEB})
    assert res.returncode == 1
    assert res.stderr.startswith("error: cannot read the catalogue") and "make catalog" in res.stderr
    assert "Traceback" not in res.stderr
    assert not db.exists(), "a reader must not create an empty database file"
