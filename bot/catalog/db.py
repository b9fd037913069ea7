"""Engine and short-lived sessions (one per unit of work).

SQLite files run in WAL mode (readers never wait for a writer) with a short busy
timeout: when another process holds the write lock for longer, a request fails
within ``BUSY_TIMEOUT`` seconds (and the web chat apologises or keeps the message)
instead of making a citizen wait half a minute.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

BUSY_TIMEOUT = 2.0  # seconds a SQLite statement waits for another writer's lock


@lru_cache(maxsize=8)
def get_engine(url: str, create: bool = False) -> Engine:
    """The engine for ``url``. A SQLite file is only created with ``create=True`` (the
    migrations): a reader of a catalogue that was never loaded gets an error, not an
    empty database file that would also make ``make`` think the catalogue is built."""
    kwargs = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            if create:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            else:
                kwargs["creator"] = lambda: sqlite3.connect(
                    f"file:{path}?mode=rw", uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT)
            # SQLAlchemy 1.4 gives a file NullPool: a new connection and the PRAGMAs below for
            # every session (a quarter of a guide's time in the action server). Keep a few open,
            # as SQLAlchemy 2.0 does for files.
            kwargs["poolclass"] = QueuePool
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT}
    else:
        kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            try:  # persistent once set; setting it needs the write lock for a moment, so never fatal
                mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
                if mode not in ("wal", "memory"):
                    cur.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                pass
            cur.close()

    return engine


@lru_cache(maxsize=8)
def _session_factory(url: str) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session for one unit of work: committed on success, rolled back on error."""
    session: Session = _session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
