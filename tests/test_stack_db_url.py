"""``python -m bot web``: ``--db-url X`` serves the database X (issue 13: the option was
ignored and the web chat and console opened var/catalog.db), and it does not open
to the network with the published Rasa token."""
from __future__ import annotations

import os
import subprocess
import sys

import requests

from bot.config import PROJECT_ROOT
from bot.stack import free_port

from .test_stack import stop, wait_health

PASSWORD = "a-password-for-the-test"


def cli_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "MINZHENG_DB_URL"}


def test_web_uses_the_db_url_option(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'other.db'}"
    added = subprocess.run([sys.executable, "-m", "bot", "--db-url", db_url, "staff", "add", "dburl_tester",
                            "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True,
                           cwd=PROJECT_ROOT, env=cli_env(), timeout=120)
    assert added.returncode == 0, added.stderr
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "--db-url", db_url, "web", "--port", str(port)],
                            cwd=PROJECT_ROOT, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_health(proc, f"{base}/console/login")
        # the account exists only in the database named by --db-url
        r = requests.post(f"{base}/console/login", data={"name": "dburl_tester", "password": PASSWORD},
                          headers={"Origin": base}, allow_redirects=False, timeout=30)
        assert r.status_code == 303, r.text[:500]
        assert r.headers["Location"] == "/console/"
    finally:
        stop(proc)


def test_web_beyond_loopback_refuses_the_published_token():
    env = {**cli_env(), "RASA_TOKEN": "minzheng-local-token"}
    res = subprocess.run([sys.executable, "-m", "bot", "web", "--host", "0.0.0.0", "--port", str(free_port())],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=60)
    assert res.returncode == 1 and res.stderr.startswith("error: ") and "RASA_TOKEN" in res.stderr
    assert "Traceback" not in res.stderr
