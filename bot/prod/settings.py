"""Production mode's settings: every one an environment variable (``SETTINGS``), checked
together, refusing unsafe values (``ProductionConfig.from_env``)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ..config import MIN_TOKEN_LENGTH, PUBLISHED_RASA_TOKEN

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
