"""``python -m bot serve`` (``make run``) under a process manager (issue 13, reliability 4
and security 2): SIGTERM stops every child as Ctrl-C does, and with ``--host 0.0.0.0``
(``WEB_HOST=0.0.0.0 make run``) only the web chat listens beyond loopback."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.config import PROJECT_ROOT
from bot.stack import free_port

from .conftest import require_model
from .test_stack import listening


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def serve(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, dict]:
    ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("TELEGRAM_TOKEN", "RASA_HOST", "ACTION_HOST", "WEB_HOST", "RASA_TOKEN")}
    full_env.update(env or {})
    out = open(tmp_path / "serve.out", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--rasa-port", str(ports["rasa"]), "--action-port",
         str(ports["actions"]), "--web-port", str(ports["web"]), *args],
        cwd=PROJECT_ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return proc, ports


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def assert_sigterm_stops_everything(proc: subprocess.Popen, kids: list[int], tmp_path: Path) -> None:
    assert all(group_alive(k) for k in kids)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = (tmp_path / "serve.out").read_text(encoding="utf-8", errors="replace")
    assert code == 0, output
    assert "Stopping" in output and "Traceback" not in output
    wait_for(lambda: not any(group_alive(k) for k in kids), 20, "the children to exit")


def test_sigterm_while_starting_stops_every_child(tmp_path):
    dummy = tmp_path / "dummy.tar.gz"  # Rasa spends seconds importing before it notices
    dummy.write_bytes(b"")
    proc, _ = serve(tmp_path, "--model", str(dummy))
    try:
        kids = wait_for(lambda: (lambda k: k if len(k) == 3 else None)(children(proc.pid)), 60,
                        "the action server, Rasa and the web chat")
        assert_sigterm_stops_everything(proc, kids, tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()


def outside_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for UDP connect
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_web_host_0000_opens_only_the_web_chat_and_sigterm_stops_everything(tmp_path):
    require_model()
    proc, ports = serve(tmp_path, "--host", "0.0.0.0")
    try:
        wait_for(lambda: proc.poll() is not None or "Press Ctrl-C" in (tmp_path / "serve.out").read_text(),
                 300, "the stack")
        assert proc.poll() is None, (tmp_path / "serve.out").read_text()
        kids = children(proc.pid)
        assert len(kids) == 3
        assert listening(ports["web"]) == {"0.0.0.0"}
        assert listening(ports["rasa"]) == {"127.0.0.1"}
        assert listening(ports["actions"]) == {"127.0.0.1"}
        outside = outside_address()
        if outside:  # what another machine on the network would see
            assert reachable(outside, ports["web"])
            assert not reachable(outside, ports["rasa"]) and not reachable(outside, ports["actions"])
        # no secret on any command line (ps, /proc/<pid>/cmdline)
        from bot.config import rasa_token
        from bot.stack import action_secret

        token, secret = rasa_token(), action_secret()
        for kid in kids:
            cmdline = Path(f"/proc/{kid}/cmdline").read_bytes().decode("utf-8", "replace")
            assert token not in cmdline and secret not in cmdline and "--auth-token" not in cmdline
        rasa = f"http://127.0.0.1:{ports['rasa']}"
        assert requests.get(f"{rasa}/status", timeout=10).status_code == 401
        assert requests.get(f"{rasa}/status", params={"token": "minzheng-local-token"}, timeout=10).status_code == 401
        assert requests.get(f"{rasa}/status", params={"token": token}, timeout=10).status_code == 200
        action = f"http://127.0.0.1:{ports['actions']}/webhook"
        assert requests.post(action, json={"next_action": "action_menu"}, timeout=10).status_code == 401
        # Rasa sends the secret: a question that needs an action gets the guide
        r = requests.post(f"{rasa}/webhooks/rest/webhook", timeout=120,
                          json={"sender": "sigterm-test-0001", "message": "请问在杭州结婚登记要带什么材料"})
        assert r.status_code == 200 and "身份证" in " ".join(m.get("text", "") for m in r.json()), r.text
        assert_sigterm_stops_everything(proc, kids, tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()
