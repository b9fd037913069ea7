"""Shared fixtures: a catalogue database built from the real content, the
Rasa domain, and (for end-to-end tests) the real servers with the trained model."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.assistant import Assistant
from bot.catalog.db import get_engine
from bot.catalog.loader import load_content, write_catalog
from bot.catalog.migrate import upgrade
from bot.catalog.queries import Catalog
from bot.config import CONTENT_DIR, PROJECT_ROOT
from bot.status_lookup import load_samples

MODEL = PROJECT_ROOT / "models" / "minzheng.tar.gz"


@pytest.fixture(scope="session")
def content():
    return load_content(CONTENT_DIR)


@pytest.fixture(scope="session")
def catalog_url(tmp_path_factory, content) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'catalog.db'}"
    upgrade(url)
    write_catalog(url, content)
    load_samples(url)
    return url


@pytest.fixture(scope="session")
def catalog(catalog_url) -> Catalog:
    return Catalog(catalog_url, default_hotline="12345")


@pytest.fixture(scope="session")
def assistant(catalog) -> Assistant:
    return Assistant(catalog)


@pytest.fixture()
def content_copy(tmp_path) -> Path:
    """A writable copy of the content directory, for tests that break it."""
    dest = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, dest)
    return dest


@pytest.fixture(scope="session")
def rasa_domain():
    from rasa_sdk.interfaces import Tracker  # noqa: F401  (import check)
    from rasa.shared.core.domain import Domain

    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def require_model() -> Path:
    if not MODEL.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{MODEL} is missing: `make test` trains it first")
        pytest.skip(f"{MODEL} is missing: run `make train`")
    return MODEL


PG_URL = os.environ.get("MINZHENG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MINZHENG_TEST_REDIS", "127.0.0.1:6379")


@pytest.fixture(scope="session")
def pg_database():
    """A fresh database on the local PostgreSQL server, dropped afterwards."""
    import uuid

    from sqlalchemy import text

    from bot.catalog.db import get_engine

    admin = get_engine(PG_URL)
    name = f"minzheng_test_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - say why the server is unusable
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} is not usable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} is not usable: {type(exc).__name__}")
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    yield name, url
    get_engine(url).dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def live_stack(catalog_url, pg_database):
    """Action server, Rasa server and web chat on free ports, with the trained model,
    in production mode: conversations in a PostgreSQL tracker store, a Redis lock store."""
    from bot.stack import Stack, free_port

    model = require_model()
    db_name, _ = pg_database
    host, port = REDIS_URL.split(":")
    stack = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        web_port=free_port(),
        model=model,
        env={"MINZHENG_DB_URL": catalog_url},
        endpoints_extra=(
            f"tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n  port: 5432\n"
            f"  username: postgres\n  db: {db_name}\n"
            f"lock_store:\n  type: redis\n  url: {host}\n  port: {port}\n  key_prefix: minzheng_test\n"
        ),
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


# -- headless Chromium (Debian's package, never a downloaded browser) ---------------------

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI (env var CI set): CI must run every test."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed (requirements-dev.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def pg_url(pg_database):
    """A schema of its own in the session's PostgreSQL test database, migrated to head."""
    _, base = pg_database
    schema = f"t_{uuid.uuid4().hex[:8]}"
    with get_engine(base).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    get_engine(url).dispose()
    with get_engine(base).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


# -- editing parsed YAML in the loader-error tests ----------------------------------------

DELETE = object()  # as a value for set_path: remove the key


def set_path(data, path, value):
    """Set (or, with DELETE, remove) the item at ``path`` of nested dicts and lists."""
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
