"""Production mode's settings, generated files and shared state (bot/production.py,
bot/web/held.py, bot/wechat/format.py). The whole topology under load is
scripts/scale_test.py (make test-scale)."""
from __future__ import annotations

import os
import secrets
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from bot.production import (
    NGINX, Production, ProductionConfig, ProductionError, SETTING_NAMES, endpoints_yaml, nginx_conf,
)

GOOD = {"MINZHENG_DB_URL": "postgresql://minzheng:pw@db.internal:5433/minzheng",
        "MINZHENG_REDIS_URL": "redis://:rpw@redis.internal:6380/3",
        "RASA_TOKEN": "t" * 24, "MINZHENG_ACTION_SECRET": "a" * 24, "MINZHENG_CLIENT_SECRET": "c" * 24}
REDIS = os.environ.get("MINZHENG_TEST_REDIS", "127.0.0.1:6379")


def test_good_settings_give_the_layout():
    c = ProductionConfig.from_env(GOOD)
    assert (c.rasa_replicas, c.action_replicas, c.web_replicas) == (2, 2, 2)
    assert c.tracker.host == "db.internal" and c.tracker.port == 5433 and c.tracker.database == "minzheng"
    assert c.tracker.password == "pw" and c.redis.db == 3 and c.redis.password == "rpw"
    ports = c.ports("rasa") + c.ports("actions") + c.ports("web") + [c.rasa_front, c.action_front]
    assert len(set(ports)) == len(ports) == 8


@pytest.mark.parametrize("change, problem", [
    ({"MINZHENG_DB_URL": ""}, "MINZHENG_DB_URL is not set"),
    ({"MINZHENG_DB_URL": "sqlite:///var/catalog.db"}, "must be a PostgreSQL URL"),
    ({"MINZHENG_REDIS_URL": ""}, "MINZHENG_REDIS_URL is not set"),
    ({"MINZHENG_REDIS_URL": "http://x"}, "MINZHENG_REDIS_URL: not a redis"),
    ({"RASA_TOKEN": "minzheng-local-token"}, "RASA_TOKEN is too short or a published default"),
    ({"MINZHENG_ACTION_SECRET": ""}, "MINZHENG_ACTION_SECRET is not set"),
    ({"MINZHENG_CLIENT_SECRET": "short"}, "MINZHENG_CLIENT_SECRET is too short"),
    ({"MINZHENG_REDIS_PREFIX": "min_zheng"}, "letters and digits only"),
    ({"MINZHENG_RASA_REPLICAS": "0"}, "between 1 and"),
    ({"MINZHENG_WEB_REPLICAS": "two"}, "whole number"),
    ({"MINZHENG_LISTEN": "8080"}, "host:port"),
])
def test_unsafe_or_incomplete_settings_are_refused_with_the_reason(change, problem):
    with pytest.raises(ProductionError) as exc:
        ProductionConfig.from_env({**GOOD, **change})
    assert problem in str(exc.value)


def test_every_problem_is_listed_at_once():
    with pytest.raises(ProductionError) as exc:
        ProductionConfig.from_env({})
    assert all(name in str(exc.value) for name in ("MINZHENG_DB_URL", "MINZHENG_REDIS_URL", "RASA_TOKEN",
                                                   "MINZHENG_ACTION_SECRET", "MINZHENG_CLIENT_SECRET"))


def test_endpoints_name_the_postgres_tracker_and_redis_lock_store_without_secrets():
    c = ProductionConfig.from_env(GOOD)
    text = endpoints_yaml("http://127.0.0.1:1/webhook", c.tracker, c.redis, c.redis_prefix)
    data = yaml.safe_load(text)
    assert data["tracker_store"] == {"type": "SQL", "dialect": "postgresql", "url": "db.internal", "port": 5433,
                                     "username": "minzheng", "db": "minzheng",
                                     "password": "${MINZHENG_TRACKER_DB_PASSWORD}"}
    assert data["lock_store"] == {"type": "redis", "url": "redis.internal", "port": 6380, "db": 3,
                                  "password": "${MINZHENG_REDIS_PASSWORD}", "key_prefix": "minzheng"}
    assert data["action_endpoint"]["headers"] == {"X-Minzheng-Action-Secret": "${MINZHENG_ACTION_SECRET}"}
    assert "pw" not in text and "t" * 24 not in text


def test_the_children_get_every_setting_and_trust_nginx(tmp_path):
    prod = Production(ProductionConfig.from_env(GOOD), Path("model.tar.gz"), run_dir=tmp_path)
    env = prod.env()
    assert env["MINZHENG_PRODUCTION"] == "1" and env["MINZHENG_TRUSTED_PROXIES"] == "127.0.0.1"
    assert env["MINZHENG_TRACKER_DB_PASSWORD"] == "pw" and env["RASA_URL"] == prod.rasa_url
    assert {"MINZHENG_DB_URL", "MINZHENG_REDIS_URL", "RASA_TOKEN", "MINZHENG_CLIENT_SECRET"} <= set(env)
    assert set(SETTING_NAMES) - set(env) <= {"MINZHENG_TRACKER_DB_URL", "MINZHENG_RASA_REPLICAS",
                                             "MINZHENG_ACTION_REPLICAS", "MINZHENG_WEB_REPLICAS", "MINZHENG_LISTEN",
                                             "MINZHENG_PORT_BASE", "MINZHENG_ACTION_URL"}


@pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian's nginx is not installed (.ci/run installs it)")
def test_the_generated_nginx_conf_is_valid_and_routes_rasa_by_sender(tmp_path):
    c = ProductionConfig.from_env(GOOD)
    prod = Production(c, Path("model.tar.gz"), run_dir=tmp_path)
    prod.prepare()
    conf = (tmp_path / "nginx.conf").read_text()
    rasa = conf[conf.index("upstream minzheng_rasa"):conf.index("upstream minzheng_actions")]
    assert "hash $http_x_minzheng_sender consistent;" in rasa
    assert all(f"127.0.0.1:{p}" in rasa for p in c.ports("rasa"))
    # a POST that reached a replica is never re-sent by nginx (no non_idempotent)
    assert "non_idempotent" not in conf and "proxy_next_upstream error timeout http_502 http_503;" in conf
    out = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_the_container_nginx_conf_is_valid_too(tmp_path):
    if not Path(NGINX).exists():
        pytest.skip("Debian's nginx is not installed")
    conf = nginx_conf("127.0.0.1:1", ["127.0.0.1:2"], ["127.0.0.1:3", "127.0.0.1:4"], ["127.0.0.1:5"],
                      "127.0.0.1:6", "127.0.0.1:7", run_dir=tmp_path)
    (tmp_path / "tmp").mkdir()
    (tmp_path / "c.conf").write_text(conf)
    out = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "c.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# -- state shared by the front-end processes, in Redis ------------------------------------------

@pytest.fixture
def redis_url():
    import redis

    host, port = REDIS.split(":")
    client = redis.Redis(host=host, port=int(port), db=12)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS} is not usable: {exc}")
        pytest.skip("Redis is not running")
    prefix = "t" + secrets.token_hex(4)
    yield f"redis://{host}:{port}/12", prefix
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


class Desk:
    def __init__(self, fail=False):
        self.fail = fail
        self.got = []

    def citizen_says(self, sender, text, at=None):
        if self.fail:
            raise RuntimeError("database down")
        self.got.append((sender, text, at))
        return True


def test_a_message_held_by_one_web_process_is_flushed_once_by_another(redis_url):
    from bot.web.held import SharedHeldMessages

    url, prefix = redis_url
    a, b = SharedHeldMessages(url, prefix), SharedHeldMessages(url, prefix)
    a.mark("web-1", True)
    assert b.with_staff("web-1") and not b.with_staff("web-2")
    assert a.hold("web-1", "第一句") and a.hold("web-1", "第二句")
    assert b.count() == 2
    assert b.flush(Desk(fail=True)) == 0 and a.count() == 2  # still down: nothing lost
    desk = Desk()
    assert b.flush(desk) == 2 and a.flush(desk) == 0
    assert [t for _, t, _ in desk.got] == ["第一句", "第二句"]
    assert isinstance(desk.got[0][2], datetime)
    b.mark("web-1", False)
    assert not a.with_staff("web-1")


def test_redis_down_falls_back_to_the_process_memory():
    from bot.web.held import SharedHeldMessages

    held = SharedHeldMessages("redis://127.0.0.1:1/0", "x")
    held.mark("web-1", True)
    assert held.with_staff("web-1") and held.hold("web-1", "你好") and held.count() == 1
    desk = Desk()
    assert held.flush(desk) == 1 and desk.got[0][1] == "你好"


def test_wechat_numbered_options_are_known_to_every_process(redis_url):
    from bot.wechat.format import SharedOptions

    url, prefix = redis_url
    a, b = SharedOptions(url, prefix), SharedOptions(url, prefix)
    a.offer("wx-1", ["/ask_materials", "/ask_fees"])
    assert b.choose("wx-1", "２") == "/ask_fees" and b.choose("wx-1", "3") is None
    b.offer("wx-1", [])
    assert a.choose("wx-1", "1") is None


def test_serve_with_production_set_runs_production_mode(monkeypatch):
    from bot import production, stack

    calls = []
    monkeypatch.setenv("MINZHENG_PRODUCTION", "1")
    monkeypatch.setattr(production, "serve", lambda model=None, telegram=None: calls.append(model) or 7)
    assert stack.serve(model=Path("m.tar.gz")) == 7 and calls == [Path("m.tar.gz")]


def test_the_run_directory_keeps_the_logs_private(tmp_path):
    if not Path(NGINX).exists():
        pytest.skip("Debian's nginx is not installed")
    run = tmp_path / "prod"
    Production(ProductionConfig.from_env(GOOD), Path("model.tar.gz"), run_dir=run).prepare()
    assert (run.stat().st_mode & 0o777) == 0o711
    assert ((run / "log").stat().st_mode & 0o777) == 0o700
    assert ((run / "error.log").stat().st_mode & 0o777) == 0o600
