"""Schema migrations with Alembic, driven from code (``python -m bot db upgrade``)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(db_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # '%' is special in ConfigParser values.
    cfg.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))
    return cfg


def upgrade(db_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(db_url), revision)


def revision(db_url: str, message: str) -> None:
    """Autogenerate a new migration from the models (developer command)."""
    command.revision(alembic_config(db_url), message=message, autogenerate=True)
