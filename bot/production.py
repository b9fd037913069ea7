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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import requests

from .config import MIN_TOKEN_LENGTH, PROJECT_ROOT, PUBLISHED_RASA_TOKEN, VAR_DIR

NGINX = "/usr/sbin/nginx"
SENDER_HEADER = "X-Minzheng-Sender"  # bot.rasa_client.SENDER_HEADER
LOOPBACK = "127.0.0.1"

# The processes of the topology, in start order ("migrate" runs once and exits). The
# deployment files name the same ones (docker-compose services, Kubernetes workloads).
PROCESSES: Tuple[str, ...] = ("migrate", "actions", "rasa", "web", "nginx")

# (name, required, default, what it is). Required ones have no default in production.
SETTINGS: Tuple[Tuple[str, bool, str, str], ...] = (
    ("MINZHENG_DB_URL", True, "", "catalogue and operational tables (PostgreSQL URL)"),
    ("MINZHENG_TRACKER_DB_URL", False, "", "Rasa's tracker store (PostgreSQL URL; default MINZHENG_DB_URL)"),
    ("MINZHENG_REDIS_URL", True, "", "Rasa's lock store and shared front-end state (redis://host:port/db)"),
    ("MINZHENG_REDIS_PREFIX", False, "minzheng", "key prefix in Redis (letters and digits)"),
    ("RASA_TOKEN", True, "", "token of Rasa's HTTP API (16+ characters)"),
    ("MINZHENG_ACTION_SECRET", True, "", "shared secret between Rasa and the action servers (16+)"),
    ("MINZHENG_CLIENT_SECRET", True, "", "key of the web chat's cookies and client hashes (16+), same everywhere"),
    ("MINZHENG_RASA_REPLICAS", False, "2", "Rasa processes"),
    ("MINZHENG_ACTION_REPLICAS", False, "2", "action-server processes"),
    ("MINZHENG_WEB_REPLICAS", False, "2", "web chat / console / WeChat processes"),
    ("MINZHENG_LISTEN", False, "127.0.0.1:8080", "nginx's public address (behind the TLS proxy)"),
    ("MINZHENG_PORT_BASE", False, "18000", "first of the internal loopback ports"),
    ("TICKET_LOCK_LIFETIME", False, "10", "seconds a dead replica's conversation lock blocks the conversation"),
    ("MINZHENG_PRODUCTION", False, "1", "turn ids for the gateway's retry (set for every front end)"),
    ("RASA_URL", False, "", "where the front ends reach Rasa: nginx's Rasa port (containers: http://nginx:5005)"),
    ("MINZHENG_ACTION_URL", False, "", "where Rasa reaches the action servers (containers: http://nginx:5055/webhook)"),
    ("MINZHENG_TRUSTED_PROXIES", False, "", "nginx's address(es): its X-Forwarded-For names the citizen"),
)
SETTING_NAMES: Tuple[str, ...] = tuple(name for name, *_ in SETTINGS)
SECRETS = ("RASA_TOKEN", "MINZHENG_ACTION_SECRET", "MINZHENG_CLIENT_SECRET")
MAX_REPLICAS = 20


class ProductionError(RuntimeError):
    """Production mode cannot start as configured; the message lists every problem."""


@dataclass(frozen=True)
class Redis:
    host: str
    port: int
    db: int
    password: str = ""

    @classmethod
    def parse(cls, url: str) -> Redis:
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise ValueError("not a redis://host:port/db URL")
        path = parts.path.strip("/")
        return cls(parts.hostname, parts.port or 6379, int(path) if path else 0, parts.password or "")


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    database: str
    username: str
    password: str = ""

    @classmethod
    def parse(cls, url: str) -> Postgres:
        from sqlalchemy.engine import make_url

        u = make_url(url)
        if u.get_backend_name() != "postgresql" or not u.database:
            raise ValueError("not a postgresql://user@host:port/database URL")
        return cls(u.host or LOOPBACK, u.port or 5432, u.database, u.username or "postgres", u.password or "")


@dataclass(frozen=True)
class ProductionConfig:
    db_url: str
    tracker: Postgres
    redis: Redis
    redis_prefix: str
    rasa_token: str
    action_secret: str
    client_secret: str
    rasa_replicas: int = 2
    action_replicas: int = 2
    web_replicas: int = 2
    listen: Tuple[str, int] = (LOOPBACK, 8080)
    port_base: int = 18000
    lock_lifetime: int = 10

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> ProductionConfig:
        env = os.environ if env is None else env
        problems: List[str] = []

        def get(name: str) -> str:
            default = next(d for n, _, d, _ in SETTINGS if n == name)
            return (env.get(name) or "").strip() or default

        for name, required, _, what in SETTINGS:
            if required and not get(name):
                problems.append(f"{name} is not set ({what})")
        db_url = get("MINZHENG_DB_URL")
        tracker = redis = None
        if db_url and not db_url.startswith("postgresql"):
            problems.append("MINZHENG_DB_URL must be a PostgreSQL URL in production (SQLite is for one process)")
        try:
            tracker = Postgres.parse(get("MINZHENG_TRACKER_DB_URL") or db_url) if db_url else None
        except ValueError as exc:
            problems.append(f"MINZHENG_TRACKER_DB_URL: {exc}")
        if get("MINZHENG_REDIS_URL"):
            try:
                redis = Redis.parse(get("MINZHENG_REDIS_URL"))
            except ValueError as exc:
                problems.append(f"MINZHENG_REDIS_URL: {exc}")
        prefix = get("MINZHENG_REDIS_PREFIX")
        if not prefix.isalnum():  # Rasa's RedisLockStore silently ignores any other prefix
            problems.append("MINZHENG_REDIS_PREFIX must be letters and digits only")
        for name in SECRETS:
            value = get(name)
            if value and (len(value) < MIN_TOKEN_LENGTH or value == PUBLISHED_RASA_TOKEN):
                problems.append(f"{name} is too short or a published default: use 16+ random characters")
        numbers: Dict[str, int] = {}
        ranges = {"MINZHENG_RASA_REPLICAS": (1, MAX_REPLICAS), "MINZHENG_ACTION_REPLICAS": (1, MAX_REPLICAS),
                  "MINZHENG_WEB_REPLICAS": (1, MAX_REPLICAS), "MINZHENG_PORT_BASE": (1025, 64999),
                  "TICKET_LOCK_LIFETIME": (2, 600)}
        for name, (low, high) in ranges.items():
            try:
                numbers[name] = int(get(name))
            except ValueError:
                problems.append(f"{name} must be a whole number")
                numbers[name] = low
                continue
            if not low <= numbers[name] <= high:
                problems.append(f"{name} must be between {low} and {high}")
        host, _, port = get("MINZHENG_LISTEN").rpartition(":")
        if not host or not port.isdigit():
            problems.append("MINZHENG_LISTEN must be host:port")
        if problems:
            raise ProductionError("production mode refuses to start:\n  - " + "\n  - ".join(problems))
        return cls(db_url=db_url, tracker=tracker, redis=redis, redis_prefix=prefix,
                   rasa_token=get("RASA_TOKEN"), action_secret=get("MINZHENG_ACTION_SECRET"),
                   client_secret=get("MINZHENG_CLIENT_SECRET"),
                   rasa_replicas=numbers["MINZHENG_RASA_REPLICAS"],
                   action_replicas=numbers["MINZHENG_ACTION_REPLICAS"],
                   web_replicas=numbers["MINZHENG_WEB_REPLICAS"], listen=(host.strip("[]"), int(port)),
                   port_base=numbers["MINZHENG_PORT_BASE"], lock_lifetime=numbers["TICKET_LOCK_LIFETIME"])

    # -- the loopback layout --------------------------------------------------------------------
    @property
    def rasa_front(self) -> int:
        """nginx's port for the Rasa replicas (what the front ends call RASA_URL)."""
        return self.port_base

    @property
    def action_front(self) -> int:
        return self.port_base + 1

    def ports(self, name: str) -> List[int]:
        offset, count = {"rasa": (10, self.rasa_replicas), "actions": (10 + MAX_REPLICAS, self.action_replicas),
                         "web": (10 + 2 * MAX_REPLICAS, self.web_replicas)}[name]
        return [self.port_base + offset + i for i in range(count)]


# -- generated files ---------------------------------------------------------------------------

def endpoints_yaml(action_url: str, tracker: Postgres, redis: Redis, prefix: str) -> str:
    """Rasa's endpoints: secrets as ${VAR} (Rasa expands them from its environment)."""
    text = (f'action_endpoint:\n  url: "{action_url}"\n  headers:\n'
            "    X-Minzheng-Action-Secret: ${MINZHENG_ACTION_SECRET}\n"
            f'tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: "{tracker.host}"\n  port: {tracker.port}\n'
            f'  username: "{tracker.username}"\n  db: "{tracker.database}"\n')
    if tracker.password:
        text += "  password: ${MINZHENG_TRACKER_DB_PASSWORD}\n"
    text += f'lock_store:\n  type: redis\n  url: "{redis.host}"\n  port: {redis.port}\n  db: {redis.db}\n'
    if redis.password:
        text += "  password: ${MINZHENG_REDIS_PASSWORD}\n"
    return text + f"  key_prefix: {prefix}\n"


# A refused connection costs nothing (nginx passes the request on at once), so a dead server
# is found on the first try anyway; one slow accept under load must not take a live one out
# (with every Rasa replica marked failed, nginx answers "no live upstreams").
def _servers(addresses: Sequence[str], extra: str = "max_fails=3 fail_timeout=5s") -> str:
    return "".join(f"        server {a} {extra};\n" for a in addresses)


# Rasa replicas are never marked failed: a busy replica stops accepting for a while (its event
# loop is busy with NLU and its listen backlog fills), and with both marked failed nginx would
# answer "no live upstreams" to every conversation. A dead one refuses at once, and nginx
# then hashes the request to the next replica (proxy_next_upstream).
RASA_SERVER = "max_fails=0"
# Connections kept open to Rasa (keep-alive 120 s) and the web processes (aiohttp, 75 s): a
# busy Rasa accepts new connections slowly, and each turn is two requests (turn + tracker).
# Not to the action servers (Sanic's default keep-alive of 5 s would race with reuse).
KEEPALIVE = "        keepalive 64;\n        keepalive_timeout 60s;\n"
# A web request may wait for a turn, the tracker check and the turn sent again (bot.gateway:
# 60 s + 2 s + 2 x 5 s + 2 s + 60 s): nginx must not answer 504 before the gateway answers.
WEB_READ_TIMEOUT = 150
# Rasa's listen backlog (Sanic's 100 by default) overflows under load: connect() then times out
RASA_BACKLOG = "1024"


def nginx_conf(listen: str, web: Sequence[str], rasa: Sequence[str], actions: Sequence[str],
               rasa_listen: str, action_listen: str, run_dir: Optional[Path] = None) -> str:
    """nginx.conf for the topology. ``run_dir``: pid, logs and temp files there (an
    unprivileged nginx on one machine); None: the container layout (/tmp/nginx, the
    error log on stderr)."""
    # unprivileged either way: pid and temp files where the user may write
    base = run_dir if run_dir is not None else Path("/tmp/nginx")
    head = f"pid {base}/nginx.pid;\n" + (f"error_log {run_dir}/error.log warn;\n" if run_dir is not None
                                         else "error_log /dev/stderr warn;\n")
    temp = "".join(f"    {kind}_temp_path {base}/tmp/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    proxy = ("        proxy_http_version 1.1;\n"
             "        proxy_set_header Connection \"\";\n"
             "        proxy_set_header Host $host;\n"
             "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
             "        proxy_connect_timeout 5s;\n"
             "        proxy_buffering off;\n")
    # Pass a request on to the next server only when the first one failed before taking it:
    # without `non_idempotent`, nginx never re-sends a POST that reached an upstream, so a
    # turn is never run twice by nginx (the gateway decides, with the tracker: bot.gateway).
    next_upstream = ("        proxy_next_upstream error timeout http_502 http_503;\n"
                     "        proxy_next_upstream_tries 2;\n"
                     "        proxy_next_upstream_timeout 5s;\n")
    indent = "    "

    def location(upstream: str, body_size: str, read_timeout: int) -> str:
        # the action server gets the whole tracker: its requests may be large (kept in memory)
        size = f"        client_max_body_size {body_size};\n        client_body_buffer_size {body_size};\n"
        wait = f"        proxy_read_timeout {read_timeout}s;\n"
        body = f"        proxy_pass http://{upstream};\n" + size + proxy + wait + next_upstream
        return "        location / {\n" + "".join(indent + line + "\n" for line in body.splitlines()) + "        }\n"

    return (
        "# Generated by bot.production (python -m bot serve --production); do not edit.\n"
        "worker_processes 1;\n" + head +
        "events {\n    worker_connections 2048;\n}\n"
        "http {\n"
        "    access_log off;\n"
        "    server_tokens off;\n" + temp +
        "    upstream minzheng_web {\n" + _servers(web) + KEEPALIVE + "    }\n"
        "    # one conversation, one replica: Rasa's lock store is not safe across replicas (rasa#9213)\n"
        "    upstream minzheng_rasa {\n"
        f"        hash $http_{SENDER_HEADER.lower().replace('-', '_')} consistent;\n"
        + _servers(rasa, RASA_SERVER) + KEEPALIVE + "    }\n"
        "    upstream minzheng_actions {\n" + _servers(actions) + "    }\n"
        f"    server {{\n        listen {listen};\n"
        "        location = /nginx-health {\n            return 200 \"ok\\n\";\n        }\n"
        + location("minzheng_web", "64k", WEB_READ_TIMEOUT) + "    }\n"
        f"    server {{\n        listen {rasa_listen};\n" + location("minzheng_rasa", "1m", 65) + "    }\n"
        f"    server {{\n        listen {action_listen};\n" + location("minzheng_actions", "16m", 60) + "    }\n"
        "}\n")


def cluster_nginx_conf(rasa_replicas: int = 2) -> str:
    """The nginx.conf of the Kubernetes manifests (deploy/k8s/nginx.yaml, a ConfigMap): Rasa
    is a StatefulSet with one Service per pod (rasa-0, rasa-1...: stable addresses, which
    nginx resolves once), web and actions one Service each."""
    return nginx_conf("8080", ["web:8080"], [f"rasa-{i}:5005" for i in range(rasa_replicas)],
                      ["actions:5055"], "5005", "5055")


def compose_nginx_conf(rasa_replicas: int = 2) -> str:
    """The nginx.conf of docker-compose.yml (deploy/compose/nginx.conf): one service per Rasa
    replica (rasa-1, rasa-2...), Docker's DNS round robin for web and actions."""
    return nginx_conf("8080", ["web:8080"], [f"rasa-{i + 1}:5005" for i in range(rasa_replicas)],
                      ["actions:5055"], "5005", "5055")


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
        pending = [(n, self.health(n)) for n in names if self.health(n)]
        deadline = time.monotonic() + timeout
        while pending:
            for name, proc in self.running.items():
                if proc.poll() is not None:
                    raise ProductionError(f"{name} exited early (code {proc.returncode}); "
                                          f"see {self.run_dir}/log/{name}.log")
            name, url = pending[0]
            try:
                if requests.get(url, timeout=2).ok:
                    pending.pop(0)
                    continue
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} ({url}) not ready after {timeout:.0f}s; see {self.run_dir}/log")
            time.sleep(0.5)

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
    import signal

    from .stack import _on_terminate, latest_model

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
    previous = {sig: signal.signal(sig, _on_terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        print(f"Production mode: migrate, nginx, {config.action_replicas} action servers, "
              f"{config.rasa_replicas} Rasa replicas, {config.web_replicas} web processes...", flush=True)
        try:
            prod.start()
        except (ProductionError, TimeoutError) as exc:
            print(f"Could not start: {exc}", file=sys.stderr)
            return 1
        print(f"\n  Web chat:  {prod.url}  (nginx, round robin over the web processes)\n"
              f"  Rasa:      {prod.rasa_url}  (nginx, by {SENDER_HEADER})\n"
              f"  Logs:      {prod.run_dir}/log\n\nPress Ctrl-C to stop.", flush=True)
        while all(p.poll() is None for p in prod.running.values()):
            time.sleep(1)
        print("A process stopped unexpectedly; see the logs.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    finally:
        previous.setdefault(signal.SIGINT, signal.getsignal(signal.SIGINT))
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        prod.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- one process in a container (docker-compose.yml, deploy/k8s/) ---------------------------------

CONTAINER_PORTS = {"rasa": 5005, "actions": 5055, "web": 8080, "nginx": 8080}
CONTAINER_MODEL = "/app/models/minzheng.tar.gz"
CONTAINER_NGINX_CONF = "/etc/minzheng/nginx.conf"


def container_command(kind: str, config: ProductionConfig, env: Mapping[str, str],
                      endpoints_file: Optional[Path] = None) -> List[str]:
    """The command of one process of the topology in a container, on the ports above,
    listening on all interfaces of the container (the cluster network is private)."""
    py = sys.executable
    if kind == "migrate":
        return [py, "-m", "bot", "catalog", "load"]
    if kind == "actions":
        return [py, "-m", "actions.server", "--host", "0.0.0.0", "--port", str(CONTAINER_PORTS["actions"])]
    if kind == "rasa":
        return [py, "-m", "bot.rasa_server", "--model", env.get("MINZHENG_MODEL", CONTAINER_MODEL),
                "--port", str(CONTAINER_PORTS["rasa"]), "--interface", "0.0.0.0", "--enable-api",
                "--endpoints", str(endpoints_file), "--credentials", str(PROJECT_ROOT / "credentials.yml")]
    if kind == "web":
        return [py, "-m", "bot", "web", "--host", "0.0.0.0", "--port", str(CONTAINER_PORTS["web"]),
                "--rasa-url", (env.get("RASA_URL") or "http://nginx:5005")]
    if kind == "nginx":
        return [NGINX, "-c", env.get("MINZHENG_NGINX_CONF", CONTAINER_NGINX_CONF), "-g", "daemon off;"]
    raise ProductionError(f"unknown process {kind!r}: one of {', '.join(PROCESSES)}")


def run_one(kind: str) -> int:
    """``python -m bot.production run KIND``: check the settings, then become that process."""
    try:
        config = ProductionConfig.from_env()
    except ProductionError as exc:
        print(exc, file=sys.stderr)
        return 1
    endpoints = None
    if kind == "rasa":
        import tempfile

        fd, path = tempfile.mkstemp(prefix="endpoints-", suffix=".yml")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(endpoints_yaml(os.environ.get("MINZHENG_ACTION_URL") or "http://nginx:5055/webhook",
                                   config.tracker, config.redis, config.redis_prefix))
        endpoints = Path(path)
        if config.tracker.password:
            os.environ["MINZHENG_TRACKER_DB_PASSWORD"] = config.tracker.password
        if config.redis.password:
            os.environ["MINZHENG_REDIS_PASSWORD"] = config.redis.password
    os.environ.setdefault("TICKET_LOCK_LIFETIME", str(config.lock_lifetime))
    os.environ.setdefault("SANIC_BACKLOG", RASA_BACKLOG)
    os.environ["MINZHENG_PRODUCTION"] = "1"
    command = container_command(kind, config, os.environ, endpoints)
    os.chdir(PROJECT_ROOT)
    os.execv(command[0], command)
    return 1  # not reached


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
