"""Access to the domain package from the action server.

One :class:`bot.assistant.Assistant` per process; each call opens its own
short database session inside a worker thread, so the action server's event
loop never blocks on database I/O.
"""
from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Callable, Optional, Set, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from bot.assistant import Assistant, Reply
from bot.catalog.queries import Catalog, CatalogUnavailable
from bot.config import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

BACKEND_ERRORS = (SQLAlchemyError, CatalogUnavailable, OSError)
RECHECK_AFTER = 1.0  # seconds between reads of the catalogue's content digest


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


@lru_cache(maxsize=1)
def assistant() -> Assistant:
    s = settings()
    # the digest read at most once a second: a reloaded catalogue is answered from within a second
    return Assistant(Catalog(s.db_url, default_hotline=s.hotline, recheck_after=RECHECK_AFTER))


def reset() -> None:
    """Forget cached settings and catalogue (tests switch databases)."""
    settings.cache_clear()
    assistant.cache_clear()


async def result_or_apology(fn: Callable[[], T], action_name: str) -> tuple[Optional[T], Optional[Reply]]:
    """``(fn(), None)`` run in a worker thread, or ``(None, apology with the hotline)``
    when the backend fails. Errors are logged by type only: no message text, no
    personal data."""
    try:
        return await asyncio.to_thread(fn), None
    except BACKEND_ERRORS as exc:
        logger.error("%s: backend unavailable (%s)", action_name, type(exc).__name__)
        return None, Assistant.unavailable(settings().hotline)


async def reply_or_apology(fn: Callable[[Assistant], Reply], action_name: str) -> tuple[Reply, bool]:
    """The reply, or an apology with the hotline when the backend fails: (reply, ok)."""
    reply, apology = await result_or_apology(lambda: fn(assistant()), action_name)
    return (reply, True) if apology is None else (apology, False)


async def staff_online() -> bool:
    """Is anyone signed in to the staff console? (False when that cannot be known.)"""
    from bot.console.auth import StaffAuth

    try:
        return await asyncio.to_thread(lambda: StaffAuth(settings().db_url).online_count() > 0)
    except BACKEND_ERRORS as exc:
        logger.warning("staff presence unknown (%s)", type(exc).__name__)
        return False


# review items being written (kept referenced until done; tests wait on them with drain())
_writes: Set[asyncio.Future] = set()


async def record_review(source: str, tracker_message: dict, service=None) -> None:
    """Keep a message for staff review (learning loop); never fails the action.

    The write runs in a worker thread and the action does not wait for it: the citizen's
    reply does not depend on it, and a SQLite insert with its commit is the slowest step
    of a low-confidence guide turn (docs/performance.md)."""
    from bot.review import ReviewDesk

    intent = (tracker_message.get("intent") or {})
    channel = (tracker_message.get("metadata") or {}).get("channel")
    text = tracker_message.get("text") or ""
    db_url = settings().db_url

    def write() -> None:
        try:
            ReviewDesk(db_url).record(source, text, channel, intent.get("name"), intent.get("confidence"), service)
        except BACKEND_ERRORS as exc:
            logger.warning("review item not recorded (%s)", type(exc).__name__)

    future = asyncio.get_running_loop().run_in_executor(None, write)
    _writes.add(future)
    future.add_done_callback(_writes.discard)


async def drain() -> None:
    """Wait for the review items still being written."""
    while _writes:
        await asyncio.gather(*list(_writes))
