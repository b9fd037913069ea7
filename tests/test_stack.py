"""The processes of a deployment and what they expose (issue 13, security 1 and 2).

Fast tests: the action server's bind address and shared secret (a real
``python -m actions.server``), what Stack refuses, the command lines and the
endpoints it writes, and the single source of the Rasa token. The stack with
the trained model is in test_stack_live.py."""
from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot import config
from bot.config import PROJECT_ROOT, Settings
from bot.rasa_server import argv_with_token
from bot.stack import ACTION_SECRET_HEADER, Stack, StackError, free_port, is_loopback

SECRET = "s3cret-for-the-test-0123456789"
STRONG = "a-long-random-token-for-the-tests-0123"


def listening(port: int) -> set:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            addr, hexport = local.split(":")
            if state != "0A" or int(hexport, 16) != port:  # 0A = LISTEN
                continue
            raw = bytes.fromhex(addr)
            # the kernel prints each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, raw))
    return found


def start_action_server(port: int, *args: str, secret: str | None = SECRET, catalog_url: str = "") -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("MINZHENG_ACTION_SECRET", "ACTION_HOST")}
    if secret is not None:
        env["MINZHENG_ACTION_SECRET"] = secret
    if catalog_url:
        env["MINZHENG_DB_URL"] = catalog_url
    return subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(port), *args], cwd=PROJECT_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def wait_health(proc: subprocess.Popen, url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


ACTION_CALL = {
    "next_action": "action_menu",
    "sender_id": "test-action-secret",
    "version": "3.6.21",
    "tracker": {"sender_id": "test-action-secret", "slots": {}, "latest_message": {"text": "/menu", "metadata": {}},
                "events": [], "latest_event_time": None, "followup_action": None, "paused": False,
                "latest_input_channel": "rest", "active_loop": {}, "latest_action_name": "action_listen"},
    "domain": {},
}


@pytest.fixture(scope="module")
def action_server(catalog_url):
    port = free_port()
    proc = start_action_server(port, catalog_url=catalog_url)
    try:
        wait_health(proc, f"http://127.0.0.1:{port}/health")
        yield port, proc
    finally:
        stop(proc)


def test_action_server_refuses_requests_without_the_secret(action_server):
    port, _ = action_server
    url = f"http://127.0.0.1:{port}"
    for headers in ({}, {ACTION_SECRET_HEADER: "wrong"}, {ACTION_SECRET_HEADER: SECRET + "x"},
                    {ACTION_SECRET_HEADER: "秘密".encode().decode("latin-1")}):
        r = requests.post(f"{url}/webhook", json=ACTION_CALL, headers=headers, timeout=10)
        assert r.status_code == 401, (headers, r.text)
        assert r.json() == {"error": "unauthorised"}
        assert requests.get(f"{url}/actions", headers=headers, timeout=10).status_code == 401


def test_action_server_runs_actions_with_the_secret(action_server):
    port, _ = action_server
    r = requests.post(f"http://127.0.0.1:{port}/webhook", json=ACTION_CALL,
                      headers={ACTION_SECRET_HEADER: SECRET}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["responses"], "the menu action answers"
    names = requests.get(f"http://127.0.0.1:{port}/actions", headers={ACTION_SECRET_HEADER: SECRET}, timeout=10)
    assert {"name": "action_menu"} in names.json()


def test_action_server_health_stays_open_for_probes(action_server):
    port, _ = action_server
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json() == {"status": "ok"}


def test_action_server_binds_loopback_by_default(action_server):
    port, _ = action_server
    assert listening(port) == {"127.0.0.1"}


def test_action_server_refuses_a_public_address_without_a_secret():
    port = free_port()
    proc = start_action_server(port, "--host", "0.0.0.0", secret=None)
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode != 0
    assert "refusing to listen on 0.0.0.0 without MINZHENG_ACTION_SECRET" in out
    assert "Traceback" not in out
    assert listening(port) == set()


# -- what Stack starts, and what it refuses ---------------------------------------------------


def prepared(tmp_path, **kw) -> Stack:
    stack = Stack(rasa_port=15005, action_port=15055, web_port=18080, log_dir=tmp_path, **kw)
    stack.check()
    stack._prepare(tmp_path / "model.tar.gz")
    return stack


def test_only_the_web_host_follows_web_host(tmp_path, monkeypatch):
    monkeypatch.delenv("RASA_HOST", raising=False)
    monkeypatch.delenv("ACTION_HOST", raising=False)
    stack = prepared(tmp_path, web_host="0.0.0.0", token=STRONG, action_secret=SECRET)
    try:
        rasa, actions, web = stack.commands["rasa"], stack.commands["actions"], stack.commands["web"]
        assert rasa[rasa.index("--interface") + 1] == "127.0.0.1"
        assert actions[actions.index("--host") + 1] == "127.0.0.1"
        assert web[web.index("--host") + 1] == "0.0.0.0"
        assert stack.rasa_url == "http://127.0.0.1:15005"
    finally:
        stack.stop()


def test_the_token_and_the_secret_stay_out_of_command_lines_and_files(tmp_path):
    stack = prepared(tmp_path, token=STRONG, action_secret=SECRET)
    try:
        for args in stack.commands.values():
            assert not any(STRONG in a or SECRET in a for a in args), args
            assert "--auth-token" not in args
        text = stack.endpoints_file.read_text(encoding="utf-8")
        assert SECRET not in text and "${MINZHENG_ACTION_SECRET}" in text
        assert stat.S_IMODE(stack.endpoints_file.stat().st_mode) == 0o600
        env = stack._child_env()
        assert env["RASA_TOKEN"] == STRONG and env["MINZHENG_ACTION_SECRET"] == SECRET
    finally:
        stack.stop()
    assert stack.endpoints_file is None


def test_rasa_reads_the_secret_header_and_a_sqlite_tracker_store(tmp_path, monkeypatch):
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    monkeypatch.setenv("MINZHENG_ACTION_SECRET", SECRET)
    stack = prepared(tmp_path, token=STRONG, action_secret=SECRET, tracker_db=tmp_path / "tracker.db")
    try:
        action = read_endpoint_config(str(stack.endpoints_file), "action_endpoint")
        assert action.url == "http://127.0.0.1:15055/webhook"
        assert action.headers == {ACTION_SECRET_HEADER: SECRET}
        store = TrackerStore.create(read_endpoint_config(str(stack.endpoints_file), "tracker_store"))
        assert type(store).__name__ == "SQLTrackerStore"
        assert str(store.engine.url) == f"sqlite:///{tmp_path / 'tracker.db'}"
    finally:
        stack.stop()


def test_production_endpoints_keep_their_own_tracker_store(tmp_path):
    extra = "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  db: minzheng\n"
    stack = Stack(endpoints_extra=extra, token=STRONG, action_secret=SECRET)
    assert stack.endpoints_yaml().count("tracker_store:") == 1 and "sqlite" not in stack.endpoints_yaml()
    assert "tracker_store" not in Stack(tracker_db=None, token=STRONG).endpoints_yaml()


@pytest.mark.parametrize("token", ["minzheng-local-token", "short-token", ""])
@pytest.mark.parametrize("hosts", [{"web_host": "0.0.0.0"}, {"rasa_host": "0.0.0.0"}, {"rasa_host": "192.0.2.7"},
                                   {"action_host": "::"}])
def test_a_weak_token_is_refused_beyond_loopback(tmp_path, token, hosts):
    with pytest.raises(StackError, match="published default or shorter than 16"):
        Stack(token=token, action_secret=SECRET, model=tmp_path / "m.tar.gz", **hosts).start()


def test_a_weak_token_is_allowed_on_loopback_only():
    Stack(token="minzheng-local-token", action_secret=SECRET).check()
    Stack(token=STRONG, action_secret=SECRET, web_host="0.0.0.0").check()


def test_a_public_action_server_needs_the_secret():
    with pytest.raises(StackError, match="MINZHENG_ACTION_SECRET"):
        Stack(token=STRONG, action_secret="", action_host="0.0.0.0").check()


@pytest.mark.parametrize("host,expected", [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True),
                                           ("localhost", True), ("0.0.0.0", False), ("::", False),
                                           ("192.168.1.5", False), ("example.org", False), ("", False)])
def test_loopback_addresses(host, expected):
    assert is_loopback(host) is expected


# -- the Rasa token: one source for every process ---------------------------------------------


def test_the_rasa_token_is_generated_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    first = config.rasa_token(tmp_path)
    assert len(first) >= 32 and first != config.PUBLISHED_RASA_TOKEN
    assert config.rasa_token(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "rasa-token").stat().st_mode) == 0o600
    monkeypatch.setenv("RASA_TOKEN", STRONG)
    assert config.rasa_token(tmp_path) == STRONG


def test_settings_stack_and_ask_share_the_token(monkeypatch):
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    assert Settings.from_env().rasa_token == Stack().token == config.rasa_token()
    assert Settings.from_env().rasa_token != config.PUBLISHED_RASA_TOKEN
    monkeypatch.setenv("RASA_TOKEN", STRONG)
    assert Settings.from_env().rasa_token == Stack().token == STRONG


def test_the_rasa_launcher_adds_the_token_inside_the_process():
    argv = argv_with_token(["--model", "m.tar.gz", "--enable-api"], STRONG)
    assert argv == ["rasa", "run", f"--auth-token={STRONG}", "--model", "m.tar.gz", "--enable-api"]
    with pytest.raises(SystemExit, match="RASA_TOKEN"):
        argv_with_token(["--auth-token", "x"], STRONG)


def test_a_token_that_begins_with_a_dash_reaches_rasa():
    """secrets.token_urlsafe gives a leading '-' once in 64 tokens; Rasa's argparse must
    still read it as the token (this failed a CI run: rasa exited with code 2)."""
    from rasa.__main__ import create_argument_parser

    token = "-" + STRONG[1:]
    args = create_argument_parser().parse_args(argv_with_token(["--model", "m.tar.gz"], token)[1:])
    assert args.auth_token == token and args.model == "m.tar.gz"


def test_a_server_that_exits_early_is_reported_with_the_end_of_its_log(tmp_path):
    import subprocess
    import sys

    from bot.stack import wait_healthy

    log = tmp_path / "rasa-1.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; print('first line'); "
                                 "print('rasa run: error: argument --auth-token: expected one argument'); sys.exit(2)"],
                                stdout=out, stderr=subprocess.STDOUT)
    proc.wait()
    with pytest.raises(RuntimeError) as err:
        wait_healthy([("rasa-1", "http://127.0.0.1:9/")], {"rasa-1": proc}, 5, str(tmp_path / "{name}.log"))
    message = str(err.value)
    assert "rasa-1 server exited early (code 2)" in message
    assert "expected one argument" in message and "first line" in message
