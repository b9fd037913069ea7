"""The catalogue on the local PostgreSQL server (production mode)."""
from __future__ import annotations

import pytest

from bot.catalog.loader import write_catalog
from bot.catalog.migrate import upgrade
from bot.catalog.queries import Catalog

pytestmark = pytest.mark.postgres


def test_load_and_query_on_postgres(pg_database, content):
    _, url = pg_database
    upgrade(url)
    counts = write_catalog(url, content)
    assert counts["services"] >= 15
    assert write_catalog(url, content) == counts  # reload in one transaction
    catalog = Catalog(url)
    g = catalog.guide("elder.age_allowance", catalog.find_region("杭州西湖区").code, 92)
    assert g.matched_amount.monthly == 100 and g.offices
