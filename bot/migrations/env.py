"""Alembic environment. The database URL comes from the caller (bot.catalog.migrate)
or from MINZHENG_DB_URL; there is no alembic.ini to keep in sync."""
from alembic import context
from sqlalchemy import pool

from bot.catalog.db import get_engine
from bot.catalog.models import Base
from bot.config import Settings

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().db_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().db_url
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = get_engine(url, create=True)
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=url.startswith("sqlite"),
            )
            with context.begin_transaction():
                context.run_migrations()
    else:
        context.configure(connection=connectable, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


_ = pool  # keep import for alembic templates that expect it

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
