"""Start and stop the processes of a local deployment.

    action server  (actions.server, runs actions/)   127.0.0.1:5055  (ACTION_HOST)
    Rasa server    (model, REST channel, API)        127.0.0.1:5005  (RASA_HOST)
    web chat       (bot.web.server)                  127.0.0.1:8080  (WEB_HOST)
    Telegram       (bot.telegram, polling)           when TELEGRAM_TOKEN is set
    WeChat         (bot.wechat, /wechat on the web chat) when WECHAT_TOKEN/APP_ID/APP_SECRET are set

Each process has its own bind address: ``WEB_HOST=0.0.0.0`` opens the web chat
and nothing else. Rasa's HTTP API takes the token of ``bot.config.rasa_token``
(given to Rasa through the environment, never on its command line); the action
server takes requests only with the shared secret (``MINZHENG_ACTION_SECRET``, or
one generated under ``var/``) that Rasa sends as a header. Conversations are kept
in Rasa's SQL tracker store on ``var/tracker.db`` unless ``endpoints_extra`` names
another tracker store, so they survive a restart of Rasa.

With ``MINZHENG_PRODUCTION=1``, ``serve`` runs production mode instead: replicas of
each process behind nginx, on PostgreSQL and Redis (``bot.production``, ``make prod``).

Used by ``python -m bot serve`` (``make run``), by ``python -m bot ask`` when no
``--url`` is given, and by the end-to-end tests (on free ports).
"""
from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import requests

from .config import PROJECT_ROOT, VAR_DIR, rasa_token, secret_file, weak_rasa_token

LOOPBACK = "127.0.0.1"
ACTION_SECRET_ENV = "MINZHENG_ACTION_SECRET"
ACTION_SECRET_HEADER = "X-Minzheng-Action-Secret"
DEFAULT_TRACKER_DB = VAR_DIR / "tracker.db"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def latest_model(models_dir: Path = PROJECT_ROOT / "models") -> Optional[Path]:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    host = (host or "").strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect_host(host: str) -> str:
    """The address to connect to a server bound to ``host`` (wildcards → loopback)."""
    host = host.strip().strip("[]")
    if host in ("", "0.0.0.0"):
        return LOOPBACK
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def action_secret() -> str:
    return os.environ.get(ACTION_SECRET_ENV, "").strip() or secret_file("action-secret")


def _env_host(name: str) -> str:
    return os.environ.get(name, "").strip() or LOOPBACK


def _log_tail(path: str, lines: int = 15) -> str:
    """The end of a log, for an error message that has to stand alone (a CI log shows
    the message, not the file)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n  last lines of the log:\n" + "\n".join("    " + line[:300] for line in tail) if tail else ""


def wait_healthy(pending: List[Tuple[str, str]], running: Dict[str, subprocess.Popen], timeout: float,
                 log_hint: str, error: type = RuntimeError) -> None:
    """Poll each ``(name, health URL)`` in turn until it answers 2xx; fail at once when a
    process in ``running`` exits, and after ``timeout`` seconds. ``log_hint`` may hold
    ``{name}`` (the log file of the process named in the error)."""
    pending = list(pending)
    deadline = time.monotonic() + timeout
    while pending:
        for name, proc in running.items():
            if proc.poll() is not None:
                log = log_hint.format(name=name)
                raise error(f"the {name} server exited early (code {proc.returncode}); see {log}"
                            + _log_tail(log))
        name, url = pending[0]
        try:
            if requests.get(url, timeout=2).ok:
                pending.pop(0)
                continue
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} ({url}) not ready after {timeout:.0f}s; see {log_hint.format(name=name)}")
        time.sleep(0.5)


class StackError(RuntimeError):
    """The stack cannot start as configured; the message is for the operator."""


@dataclass
class Stack:
    rasa_port: int = 5005
    action_port: int = 5055
    web_port: Optional[int] = 8080
    web_host: str = LOOPBACK
    rasa_host: str = field(default_factory=lambda: _env_host("RASA_HOST"))
    action_host: str = field(default_factory=lambda: _env_host("ACTION_HOST"))
    model: Optional[Path] = None
    token: str = field(default_factory=rasa_token)
    # shared secret between Rasa and the action server (header ACTION_SECRET_HEADER)
    action_secret: str = field(default_factory=action_secret)
    env: Dict[str, str] = field(default_factory=dict)
    # extra endpoints.yml content, e.g. a tracker store and a lock store (production mode)
    endpoints_extra: str = ""
    # SQLite file of Rasa's SQL tracker store when endpoints_extra names none; None = in memory
    tracker_db: Optional[Path] = DEFAULT_TRACKER_DB
    # also run the Telegram front end in polling mode (needs TELEGRAM_TOKEN)
    telegram: bool = False
    log_dir: Path = VAR_DIR / "log"
    running: Dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)
    endpoints_file: Optional[Path] = None

    @property
    def procs(self) -> List[subprocess.Popen]:
        return list(self.running.values())

    @property
    def rasa_url(self) -> str:
        return f"http://{connect_host(self.rasa_host)}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{connect_host(self.action_host)}:{self.action_port}"

    @property
    def web_url(self) -> Optional[str]:
        return f"http://{connect_host(self.web_host)}:{self.web_port}/" if self.web_port else None

    def check(self) -> None:
        """Refuse configurations that would open the assistant to anyone who can reach a port."""
        hosts = {"RASA_HOST": self.rasa_host, "ACTION_HOST": self.action_host}
        if self.web_port:
            hosts["WEB_HOST"] = self.web_host
        public = [f"{name}={host}" for name, host in hosts.items() if not is_loopback(host)]
        if public and weak_rasa_token(self.token):
            raise StackError(
                f"{', '.join(public)} listens beyond loopback, but the Rasa token is the published default "
                "or shorter than 16 characters: unset RASA_TOKEN (a random one is kept in var/rasa-token) "
                "or set it to a long random value")
        if not is_loopback(self.action_host) and not self.action_secret:
            raise StackError(f"ACTION_HOST={self.action_host} needs {ACTION_SECRET_ENV}: without it anyone "
                             "who reaches the action server can run any action")

    def endpoints_yaml(self) -> str:
        text = f"action_endpoint:\n  url: {json.dumps(self.action_url + '/webhook')}\n"
        if self.action_secret:
            # the value comes from the environment of the Rasa process, not from this file
            text += f"  headers:\n    {ACTION_SECRET_HEADER}: ${{{ACTION_SECRET_ENV}}}\n"
        if self.tracker_db is not None and "tracker_store:" not in self.endpoints_extra:
            text += f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {json.dumps(str(self.tracker_db))}\n"
        return text + self.endpoints_extra

    def _child_env(self) -> Dict[str, str]:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1", "RASA_TOKEN": self.token,
               ACTION_SECRET_ENV: self.action_secret}
        return env

    def _spawn(self, name: str) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(self.commands[name], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    env=self._child_env(), start_new_session=True)
        self.running[name] = proc
        return proc

    def _prepare(self, model: Path) -> None:
        if self.tracker_db is not None:
            Path(self.tracker_db).parent.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="endpoints-", suffix=".yml")  # mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(self.endpoints_yaml())
        self.endpoints_file = Path(path)
        py = sys.executable
        self.commands = {
            "actions": [py, "-m", "actions.server", "--host", self.action_host, "--port", str(self.action_port)],
            # bot.rasa_server = `rasa run` with --auth-token from RASA_TOKEN, off the process arguments
            "rasa": [py, "-m", "bot.rasa_server", "--model", str(model), "--port", str(self.rasa_port),
                     "--interface", self.rasa_host, "--enable-api", "--endpoints", str(self.endpoints_file),
                     "--credentials", str(PROJECT_ROOT / "credentials.yml")],
        }
        if self.web_port:
            self.commands["web"] = [py, "-m", "bot", "web", "--host", self.web_host, "--port", str(self.web_port),
                                    "--rasa-url", self.rasa_url]
        if self.telegram:
            self.commands["telegram"] = [py, "-m", "bot", "telegram", "--mode", "polling",
                                         "--rasa-url", self.rasa_url]

    def start(self, timeout: float = 240.0) -> Stack:
        self.check()
        model = self.model or latest_model()
        if model is None:
            raise StackError("no trained model in models/: run `make train`")
        try:
            self._prepare(model)
            for name in ("actions", "rasa", "web"):
                if name in self.commands:
                    self._spawn(name)
            self.wait_ready(timeout)
            if self.telegram:
                # started last: citizens' messages only arrive once Rasa can answer them
                proc = self._spawn("telegram")
                time.sleep(2)
                if proc.poll() is not None:
                    raise StackError(f"the Telegram front end exited; see {self.log_dir}/telegram.log")
        except BaseException:
            self.stop()
            raise
        return self

    def health_url(self, name: str) -> Optional[str]:
        return {"actions": f"{self.action_url}/health", "rasa": f"{self.rasa_url}/",
                "web": f"{self.web_url}healthz" if self.web_port else None}.get(name)

    def wait_ready(self, timeout: float, names: Optional[List[str]] = None) -> None:
        names = [n for n in (names or ["actions", "rasa", "web"]) if n in self.running]
        pending = [(n, self.health_url(n)) for n in names if self.health_url(n)]
        wait_healthy(pending, self.running, timeout, str(self.log_dir / "{name}.log"), StackError)

    # -- one process at a time (fault tests: stop Rasa, start it again) -----------------------

    def stop_process(self, name: str) -> None:
        proc = self.running.pop(name, None)
        if proc is not None:
            _terminate([proc])

    def start_process(self, name: str, timeout: float = 240.0) -> None:
        if name in self.running and self.running[name].poll() is None:
            return
        self._spawn(name)
        self.wait_ready(timeout, [name])

    def restart(self, name: str, timeout: float = 240.0) -> None:
        self.stop_process(name)
        self.start_process(name, timeout)

    def stop(self) -> None:
        _terminate(list(self.running.values()))
        self.running.clear()
        if self.endpoints_file is not None:
            self.endpoints_file.unlink(missing_ok=True)
            self.endpoints_file = None

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _terminate(procs: List[subprocess.Popen]) -> None:
    """SIGTERM to each process group (a server and anything it started), SIGKILL after 15 s."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


class Terminated(KeyboardInterrupt):
    """SIGTERM (systemd, Docker, Kubernetes) or SIGHUP: stop like Ctrl-C."""


def until_one_exits(procs: Callable[[], Iterable[subprocess.Popen]]) -> int:
    """Wait while every child runs; 1 when one stops by itself."""
    while all(p.poll() is None for p in procs()):
        time.sleep(1)
    print("A server stopped unexpectedly; see the logs.", file=sys.stderr)
    return 1


def stop_shielded(stop: Callable[[], None], previous: Dict[int, Any]) -> None:
    """``stop()`` with SIGINT, SIGTERM and SIGHUP ignored (a second Ctrl-C or SIGTERM must not
    leave children behind half-way through stopping), then the ``previous`` handlers back."""
    previous.setdefault(signal.SIGINT, signal.getsignal(signal.SIGINT))
    for sig in previous:
        signal.signal(sig, signal.SIG_IGN)
    try:
        stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _on_terminate(signum, frame) -> None:
    # a second signal must not interrupt the shutdown of the children
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    raise Terminated(signal.Signals(signum).name)


def serve(rasa_port: int = 5005, action_port: int = 5055, web_port: int = 8080, host: str = LOOPBACK,
          telegram: Optional[bool] = None, model: Optional[Path] = None) -> int:
    """Run everything in the foreground until Ctrl-C or SIGTERM. Telegram runs when
    TELEGRAM_TOKEN is set (``telegram=True`` insists on it). ``host`` is the web chat's
    address; Rasa and the action server follow RASA_HOST and ACTION_HOST (loopback)."""
    from .config import _flag

    if _flag("MINZHENG_PRODUCTION", False):  # several replicas behind nginx (bot.production, make prod)
        from .production import serve as serve_production

        return serve_production(model, telegram=telegram)
    has_token = bool(os.environ.get("TELEGRAM_TOKEN", "").strip())
    if telegram and not has_token:
        print("TELEGRAM_TOKEN is not set: get a token from @BotFather, then\n"
              "  TELEGRAM_TOKEN=123456:ABC... make telegram", file=sys.stderr)
        return 1
    stack = Stack(rasa_port=rasa_port, action_port=action_port, web_port=web_port, web_host=host,
                  telegram=has_token, model=model)

    def banner() -> str:
        from .config import Settings

        telegram_line = ("  Telegram:     polling; open your bot in Telegram and send /start\n" if has_token else
                         "  Telegram:     off (set TELEGRAM_TOKEN to serve citizens on Telegram too)\n")
        wechat = Settings.from_env().wechat_enabled
        telegram_line += (f"  WeChat:       {stack.web_url}wechat (the account's server address)\n" if wechat
                          else "  WeChat:       off (set WECHAT_TOKEN/APP_ID/APP_SECRET; docs/wechat.md)\n")
        web_note = "" if is_loopback(host) else f" (listening on {host}:{web_port}, the only port beyond loopback)"
        return (f"\n  Web chat:     {stack.web_url}{web_note}\n  Staff console: {stack.web_url}console/ "
                f"(accounts: .venv/bin/python -m bot staff add NAME)"
                f"\n  Rasa REST:    {stack.rasa_url}/webhooks/rest/webhook (API token: RASA_TOKEN or var/rasa-token)"
                f"\n{telegram_line}  Logs:         {stack.log_dir}\n\nPress Ctrl-C to stop.")

    return run_foreground("Starting the action server, the Rasa server, the web chat"
                          f"{' and the Telegram bot' if has_token else ''} (this takes about a minute)...",
                          stack.start, (StackError, TimeoutError), banner, lambda: stack.procs, stack.stop)


def run_foreground(intro: str, start: Callable[[], object], errors: Tuple[type, ...], banner: Callable[[], str],
                   procs: Callable[[], List[subprocess.Popen]], stop: Callable[[], None]) -> int:
    """``make run`` and production mode in the foreground: start, print where to chat,
    then wait until Ctrl-C, SIGTERM or SIGHUP (or a process exits), and stop everything,
    the stop shielded from a second signal. 1 when the start fails (``errors``)."""
    previous = {sig: signal.signal(sig, _on_terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        print(intro, flush=True)
        try:
            start()
        except errors as exc:
            print(f"Could not start: {exc}", file=sys.stderr)
            return 1
        print(banner(), flush=True)
        return until_one_exits(procs)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM / SIGHUP (Terminated)
        print("\nStopping...", flush=True)
        return 0
    finally:
        stop_shielded(stop, previous)
