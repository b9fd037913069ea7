"""Start and stop the processes of a local deployment.

    action server  (rasa_sdk, runs actions/)     :5055
    Rasa server    (model, REST channel, API)    :5005
    web chat       (bot.web.server)              :8080
    Telegram       (bot.telegram, polling)       when TELEGRAM_TOKEN is set

Used by ``python -m bot serve`` (``make run``), by ``python -m bot ask`` when no
``--url`` is given, and by the end-to-end tests (on free ports).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests

from .config import PROJECT_ROOT, VAR_DIR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latest_model(models_dir: Path = PROJECT_ROOT / "models") -> Optional[Path]:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


@dataclass
class Stack:
    rasa_port: int = 5005
    action_port: int = 5055
    web_port: Optional[int] = 8080
    host: str = "127.0.0.1"
    model: Optional[Path] = None
    token: str = field(default_factory=lambda: os.environ.get("RASA_TOKEN", "minzheng-local-token"))
    env: Dict[str, str] = field(default_factory=dict)
    # extra endpoints.yml content, e.g. a tracker store and a lock store (production mode)
    endpoints_extra: str = ""
    # also run the Telegram front end in polling mode (needs TELEGRAM_TOKEN)
    telegram: bool = False
    log_dir: Path = VAR_DIR / "log"
    procs: List[subprocess.Popen] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def web_url(self) -> Optional[str]:
        return f"http://{self.host}:{self.web_port}/" if self.web_port else None

    def _spawn(self, name: str, args: List[str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            args, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 240.0) -> Stack:
        model = self.model or latest_model()
        if model is None:
            raise RuntimeError("no trained model in models/: run `make train`")
        endpoints = Path(tempfile.mkstemp(prefix="endpoints-", suffix=".yml")[1])
        endpoints.write_text(
            f"action_endpoint:\n  url: http://{self.host}:{self.action_port}/webhook\n{self.endpoints_extra}",
            encoding="utf-8",
        )
        py = sys.executable
        try:
            self._spawn("actions", [py, "-m", "rasa_sdk", "--actions", "actions", "--port", str(self.action_port)])
            self._spawn(
                "rasa",
                [
                    py, "-m", "rasa", "run", "--model", str(model), "--port", str(self.rasa_port),
                    "--interface", self.host, "--enable-api", "--auth-token", self.token,
                    "--endpoints", str(endpoints), "--credentials", str(PROJECT_ROOT / "credentials.yml"),
                ],
            )
            if self.web_port:
                self._spawn(
                    "web",
                    [py, "-m", "bot", "web", "--host", self.host, "--port", str(self.web_port),
                     "--rasa-url", self.rasa_url],
                )
            self.wait_ready(timeout)
            if self.telegram:
                # started last: citizens' messages only arrive once Rasa can answer them
                self._spawn("telegram", [py, "-m", "bot", "telegram", "--mode", "polling",
                                         "--rasa-url", self.rasa_url])
                time.sleep(2)
                if self.procs[-1].poll() is not None:
                    raise RuntimeError(f"the Telegram front end exited; see {self.log_dir}/telegram.log")
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        checks = [f"http://{self.host}:{self.action_port}/health", f"{self.rasa_url}/"]
        if self.web_port:
            checks.append(f"http://{self.host}:{self.web_port}/healthz")
        deadline = time.monotonic() + timeout
        pending = list(checks)
        while pending:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a server exited early (code {proc.returncode}); see {self.log_dir}")
            url = pending[0]
            try:
                if requests.get(url, timeout=2).ok:
                    pending.pop(0)
                    continue
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready after {timeout:.0f}s; see {self.log_dir}")
            time.sleep(0.5)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(rasa_port: int = 5005, action_port: int = 5055, web_port: int = 8080, host: str = "127.0.0.1",
          telegram: Optional[bool] = None) -> int:
    """Run everything in the foreground until Ctrl-C. Telegram runs when TELEGRAM_TOKEN is set
    (``telegram=True`` insists on it)."""
    has_token = bool(os.environ.get("TELEGRAM_TOKEN", "").strip())
    if telegram and not has_token:
        print("TELEGRAM_TOKEN is not set: get a token from @BotFather, then\n"
              "  TELEGRAM_TOKEN=123456:ABC... make telegram", file=sys.stderr)
        return 1
    stack = Stack(rasa_port=rasa_port, action_port=action_port, web_port=web_port, host=host,
                  telegram=has_token)
    print("Starting the action server, the Rasa server, the web chat"
          f"{' and the Telegram bot' if has_token else ''} (this takes about a minute)...", flush=True)
    try:
        stack.start()
    except (RuntimeError, TimeoutError) as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        return 1
    telegram_line = ("  Telegram:     polling; open your bot in Telegram and send /start\n" if has_token else
                     "  Telegram:     off (set TELEGRAM_TOKEN to serve citizens on Telegram too)\n")
    print(f"\n  Web chat:     {stack.web_url}\n  Staff console: {stack.web_url}console/ "
          f"(accounts: .venv/bin/python -m bot staff add NAME)"
          f"\n  Rasa REST:    {stack.rasa_url}/webhooks/rest/webhook"
          f"\n{telegram_line}  Logs:         {stack.log_dir}\n\nPress Ctrl-C to stop.", flush=True)
    try:
        while all(p.poll() is None for p in stack.procs):
            time.sleep(1)
        print("A server stopped unexpectedly; see the logs.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    finally:
        stack.stop()
