"""Posters never silently point at 127.0.0.1 (issue 13, reliability 7): without a public
address ``python -m bot qr`` refuses, or with ``--draft`` marks every poster as a draft."""
from __future__ import annotations

import pytest

from bot import qr

from .test_qr import BOT, WEB, decode_png, run_cli


def test_cli_without_a_public_address_refuses_and_names_the_setting(tmp_path, catalog_url):
    res = run_cli(catalog_url, "--out", str(tmp_path / "out"))
    assert res.returncode == 1
    assert res.stderr.startswith("error: ") and "MINZHENG_PUBLIC_URL" in res.stderr and "--draft" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080/chat", "http://[::1]:8080",
                                 "http://0.0.0.0:8080"])
def test_a_loopback_address_is_not_public(tmp_path, catalog_url, url):
    res = run_cli(catalog_url, "hz-funeral", "--out", str(tmp_path / "out"), env={"MINZHENG_PUBLIC_URL": url})
    assert res.returncode == 1 and "opens only on this machine" in res.stderr
    assert not (tmp_path / "out").exists()


def test_telegram_without_a_username_refuses_even_as_a_draft(tmp_path, catalog_url):
    res = run_cli(catalog_url, "--target", "telegram", "--draft", "--out", str(tmp_path / "out"))
    assert res.returncode == 1 and "TELEGRAM_BOT_USERNAME" in res.stderr
    assert not (tmp_path / "out").exists()


def test_draft_posters_say_so_in_large_type_and_on_the_command_line(tmp_path, catalog_url, catalog):
    res = run_cli(catalog_url, "--draft", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "DRAFT" in res.stderr and qr.DRAFT_MARK in res.stderr
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith("DRAFT") for line in lines)
    entries = catalog.entry_points()
    for ep in entries:
        html = (tmp_path / f"{ep.id}.html").read_text(encoding="utf-8")
        assert f'<p class="draft" role="alert">{qr.DRAFT_MARK}</p>' in html
        assert "【草稿】" in html.split("</title>")[0]
    assert qr.DRAFT_MARK in (tmp_path / "index.html").read_text(encoding="utf-8")
    assert f"{qr.DEFAULT_WEB_URL}/?entry={entries[0].id}" in res.stdout


def test_a_draft_code_opens_the_local_web_chat(tmp_path, catalog_url):
    res = run_cli(catalog_url, "hz-funeral", "--draft", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert decode_png(tmp_path / "hz-funeral.png") == [f"{qr.DEFAULT_WEB_URL}/?entry=hz-funeral"]


def test_the_draft_mark_is_large(tmp_path, catalog):
    poster = qr.write_all(catalog, "web", tmp_path, "hz-funeral", draft=True)[0]
    html = (tmp_path / "hz-funeral.html").read_text(encoding="utf-8")
    assert poster.draft
    rule = html.split(".draft {", 1)[1].split("}", 1)[0]
    size = float(rule.split("font-size:", 1)[1].split("pt", 1)[0])
    assert size >= 30  # the service name, the largest text of a poster, is 34 pt


def test_posters_with_a_public_address_are_not_drafts(tmp_path, catalog_url):
    res = run_cli(catalog_url, "hz-funeral", "--out", str(tmp_path / "web"), env={"MINZHENG_PUBLIC_URL": WEB})
    assert res.returncode == 0 and "DRAFT" not in res.stdout + res.stderr
    assert 'class="draft"' not in (tmp_path / "web" / "hz-funeral.html").read_text(encoding="utf-8")
    res = run_cli(catalog_url, "hz-funeral", "--out", str(tmp_path / "tg"), env={"TELEGRAM_BOT_USERNAME": BOT})
    assert res.returncode == 0 and "DRAFT" not in res.stdout + res.stderr
