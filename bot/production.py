"""Production mode: ``python -m bot serve --production`` (``make prod``).

One machine, the same topology as a cluster (``docker-compose.yml``, ``deploy/k8s/``):

    citizens ──▶ nginx :MINZHENG_LISTEN ──round robin──▶ web × MINZHENG_WEB_REPLICAS (stateless)
                 nginx :rasa port ──hash X-Minzheng-Sender──▶ Rasa × MINZHENG_RASA_REPLICAS
                 nginx :action port ──round robin──▶ action server × MINZHENG_ACTION_REPLICAS
    migrate (once, before the rest): Alembic migrations + catalogue load on PostgreSQL
    conversations: Rasa's SQL tracker store on PostgreSQL; locks: Rasa's RedisLockStore

Why the Rasa replicas are chosen by the sender: Rasa 3.6's ``RedisLockStore`` is not
safe across replicas (rasa#9213, fixed only in Rasa Pro), so two turns of one
conversation on two replicas could interleave. With ``hash $http_x_minzheng_sender
consistent`` every turn of a conversation goes to the same replica, whose lock (and
the Redis lock) orders them. When a replica dies nginx sends its conversations to
another one (only a request that never reached the dead one is passed on by nginx:
POST is not idempotent, so nginx does not replay it), and they continue from the
tracker in PostgreSQL. A turn the dying replica had taken is the gateway's to send
again, once, and only when the tracker has no trace of it (``bot.gateway``).

Every setting is an environment variable (``SETTINGS``), the same names in the
Compose file and the Kubernetes manifests (``tests/test_deployment_files.py``).
Production mode refuses unsafe values: no generated or default secrets, PostgreSQL
and Redis required.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .config import PROJECT_ROOT, VAR_DIR
from .prod.container import CONTAINER_PORTS, container_command, run_one  # noqa: F401 - re-exported
from .prod.files import (  # noqa: F401 - re-exported
    RASA_BACKLOG, cluster_nginx_conf, compose_nginx_conf, endpoints_yaml, nginx_conf,
)
from .prod.settings import (  # noqa: F401 - re-exported
    LOOPBACK, NGINX, PROCESSES, SECRETS, SENDER_HEADER, SETTING_NAMES, SETTINGS, Postgres, ProductionConfig,
    ProductionError, Redis,
)

# -- running it on one machine -----------------------------------------------------------------

@dataclass
class Production:
    config: ProductionConfig
    model: Path
    run_dir: Path = VAR_DIR / "prod"
    telegram: bool = False
    migrate: bool = True
    running: Dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        host, port = self.config.listen
        return f"http://{LOOPBACK if host in ('0.0.0.0', '') else host}:{port}/"

    @property
    def rasa_url(self) -> str:
        return f"http://{LOOPBACK}:{self.config.rasa_front}"

    def env(self) -> Dict[str, str]:
        c = self.config
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MINZHENG_DB_URL": c.db_url, "RASA_TOKEN": c.rasa_token,
               "MINZHENG_ACTION_SECRET": c.action_secret, "MINZHENG_CLIENT_SECRET": c.client_secret,
               "MINZHENG_REDIS_URL": f"redis://{c.redis.host}:{c.redis.port}/{c.redis.db}",
               "MINZHENG_REDIS_PREFIX": c.redis_prefix, "TICKET_LOCK_LIFETIME": str(c.lock_lifetime),
               "MINZHENG_PRODUCTION": "1", "RASA_URL": self.rasa_url,
               # nginx is the front ends' proxy: its X-Forwarded-For names the citizen
               "MINZHENG_TRUSTED_PROXIES": LOOPBACK, "RASA_TELEMETRY_ENABLED": "false",
               "SANIC_BACKLOG": RASA_BACKLOG}
        if c.tracker.password:
            env["MINZHENG_TRACKER_DB_PASSWORD"] = c.tracker.password
        if c.redis.password:
            env["MINZHENG_REDIS_PASSWORD"] = c.redis.password
            env["MINZHENG_REDIS_URL"] = f"redis://:{c.redis.password}@{c.redis.host}:{c.redis.port}/{c.redis.db}"
        return env

    def prepare(self) -> None:
        c = self.config
        if not Path(NGINX).exists():
            raise ProductionError(f"{NGINX} is missing: apt-get install nginx (Debian's package)")
        # nginx's error log names requests, and Rasa's API takes its token in the query string:
        # the logs are for the operator only; nginx's workers (nobody) only pass through to tmp/
        self.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o711)
        (self.run_dir / "tmp").mkdir(exist_ok=True)
        (self.run_dir / "log").mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.run_dir / "log", 0o700)
        error_log = self.run_dir / "error.log"
        error_log.touch(mode=0o600, exist_ok=True)
        os.chmod(error_log, 0o600)
        endpoints = self.run_dir / "endpoints.yml"
        endpoints.write_text(endpoints_yaml(f"http://{LOOPBACK}:{c.action_front}/webhook", c.tracker, c.redis,
                                            c.redis_prefix), encoding="utf-8")
        conf = self.run_dir / "nginx.conf"
        conf.write_text(nginx_conf(f"{c.listen[0]}:{c.listen[1]}", [f"{LOOPBACK}:{p}" for p in c.ports("web")],
                                   [f"{LOOPBACK}:{p}" for p in c.ports("rasa")],
                                   [f"{LOOPBACK}:{p}" for p in c.ports("actions")],
                                   f"{LOOPBACK}:{c.rasa_front}", f"{LOOPBACK}:{c.action_front}",
                                   run_dir=self.run_dir.resolve()), encoding="utf-8")
        py = sys.executable
        self.commands = {"migrate": [py, "-m", "bot", "catalog", "load"],
                         "nginx": [NGINX, "-p", str(self.run_dir.resolve()), "-c", str(conf.resolve()),
                                   "-g", "daemon off;"]}
        for i, port in enumerate(c.ports("actions")):
            self.commands[f"actions-{i + 1}"] = [py, "-m", "actions.server", "--host", LOOPBACK, "--port", str(port)]
        for i, port in enumerate(c.ports("rasa")):
            self.commands[f"rasa-{i + 1}"] = [py, "-m", "bot.rasa_server", "--model", str(self.model), "--port",
                                              str(port), "--interface", LOOPBACK, "--enable-api", "--endpoints",
                                              str(endpoints.resolve()), "--credentials",
                                              str(PROJECT_ROOT / "credentials.yml")]
        for i, port in enumerate(c.ports("web")):
            self.commands[f"web-{i + 1}"] = [py, "-m", "bot", "web", "--host", LOOPBACK, "--port", str(port),
                                             "--rasa-url", self.rasa_url]
        if self.telegram:  # polling: one process only (Telegram serves updates to one consumer)
            self.commands["telegram"] = [py, "-m", "bot", "telegram", "--mode", "polling", "--rasa-url",
                                         self.rasa_url]

    def spawn(self, name: str) -> subprocess.Popen:
        with open(self.run_dir / "log" / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(self.commands[name], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    env=self.env(), start_new_session=True)
        self.running[name] = proc
        return proc

    def health(self, name: str) -> Optional[str]:
        kind, _, n = name.partition("-")
        if kind == "nginx":
            return f"{self.url}nginx-health"
        if kind not in ("rasa", "actions", "web") or not n:
            return None
        port = self.config.ports(kind)[int(n) - 1]
        return f"http://{LOOPBACK}:{port}" + {"rasa": "/", "actions": "/health", "web": "/healthz"}[kind]

    def names(self, kind: str) -> List[str]:
        return [n for n in self.commands if n.split("-")[0] == kind and n != "migrate"]

    def start(self, timeout: float = 300.0) -> Production:
        self.prepare()
        try:
            if self.migrate:  # once, before any replica: migrations and the catalogue load
                proc = self.spawn("migrate")
                if proc.wait(timeout=600) != 0:
                    raise ProductionError(f"the migrate step failed; see {self.run_dir}/log/migrate.log")
                self.running.pop("migrate")
            for kind in ("nginx", "actions", "rasa", "web"):
                for name in self.names(kind):
                    self.spawn(name)
            self.wait_ready([n for n in self.running], timeout)
            if self.telegram:
                self.spawn("telegram")
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, names: Sequence[str], timeout: float) -> None:
        from .stack import wait_healthy

        pending = [(n, self.health(n)) for n in names if self.health(n)]
        wait_healthy(pending, self.running, timeout, f"{self.run_dir}/log/{{name}}.log", ProductionError)

    def kill(self, name: str) -> None:
        """SIGKILL one process (the scale test's dying replica)."""
        import signal

        proc = self.running.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def stop(self) -> None:
        from .stack import _terminate

        _terminate(list(self.running.values()))
        self.running.clear()


def serve(model: Optional[Path] = None, telegram: Optional[bool] = None, migrate: bool = True) -> int:
    """Run production mode in the foreground until Ctrl-C or SIGTERM."""
    from .stack import latest_model, run_foreground

    try:
        config = ProductionConfig.from_env()
    except ProductionError as exc:
        print(exc, file=sys.stderr)
        return 1
    model = model or latest_model()
    if model is None:
        print("no trained model in models/: run `make train`", file=sys.stderr)
        return 1
    has_token = bool(os.environ.get("TELEGRAM_TOKEN", "").strip())
    prod = Production(config, model, telegram=bool(telegram if telegram is not None else has_token),
                      migrate=migrate)
    return run_foreground(f"Production mode: migrate, nginx, {config.action_replicas} action servers, "
                          f"{config.rasa_replicas} Rasa replicas, {config.web_replicas} web processes...",
                          prod.start, (ProductionError, TimeoutError),
                          lambda: (f"\n  Web chat:  {prod.url}  (nginx, round robin over the web processes)\n"
                                   f"  Rasa:      {prod.rasa_url}  (nginx, by {SENDER_HEADER})\n"
                                   f"  Logs:      {prod.run_dir}/log\n\nPress Ctrl-C to stop."),
                          lambda: list(prod.running.values()), prod.stop)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m bot.production serve|migrate|config``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.production", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="run production mode on this machine (make prod)")
    srv.add_argument("--model", help="model archive (default: the newest in models/)")
    srv.add_argument("--no-migrate", action="store_true", help="skip the migrate step (it ran elsewhere)")
    sub.add_parser("migrate", help="only the migrate step: Alembic migrations and the catalogue load")
    sub.add_parser("check", help="check the settings and print the layout")
    one = sub.add_parser("run", help="one process of the topology in a container (docker-compose, Kubernetes)")
    one.add_argument("kind", choices=PROCESSES)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run_one(args.kind)
    if args.command == "serve":
        return serve(Path(args.model) if args.model else None, migrate=not args.no_migrate)
    try:
        config = ProductionConfig.from_env()
    except ProductionError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.command == "migrate":
        return subprocess.call([sys.executable, "-m", "bot", "catalog", "load"], cwd=PROJECT_ROOT,
                               env={**os.environ, "MINZHENG_DB_URL": config.db_url})
    for kind in ("rasa", "actions", "web"):
        print(f"{kind}: {', '.join(f'{LOOPBACK}:{p}' for p in config.ports(kind))}")
    print(f"nginx: {config.listen[0]}:{config.listen[1]} (web), {LOOPBACK}:{config.rasa_front} (Rasa), "
          f"{LOOPBACK}:{config.action_front} (actions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
