"""The catalogue on the local PostgreSQL server (production mode)."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from bot.catalog.db import get_engine
from bot.catalog.loader import write_catalog
from bot.catalog.migrate import upgrade
from bot.catalog.queries import Catalog

pytestmark = pytest.mark.postgres
BASE_URL = os.environ.get("MINZHENG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url():
    """A fresh database on the local server, dropped afterwards."""
    admin = get_engine(BASE_URL)
    name = f"minzheng_test_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - report why the server is unusable
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {BASE_URL} is not usable: {exc}")
        pytest.skip(f"PostgreSQL at {BASE_URL} is not usable: {type(exc).__name__}")
    url = BASE_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    get_engine(url).dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def test_load_and_query_on_postgres(pg_url, content):
    upgrade(pg_url)
    counts = write_catalog(pg_url, content)
    assert counts["services"] >= 15
    assert write_catalog(pg_url, content) == counts  # reload in one transaction
    catalog = Catalog(pg_url)
    g = catalog.guide("elder.age_allowance", catalog.find_region("杭州西湖区").code, 92)
    assert g.matched_amount.monthly == 100 and g.offices
