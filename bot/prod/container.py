"""One process of the topology in a container: ``python -m bot.production run KIND``
(the Dockerfile's entry point; docker-compose.yml, deploy/k8s/)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Mapping, Optional

from ..config import PROJECT_ROOT
from .files import RASA_BACKLOG, endpoints_yaml
from .settings import NGINX, PROCESSES, ProductionConfig, ProductionError

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
