"""Background work of the web process: the hourly purge of old rows, and writing held
citizen messages to the desk (``bot.web.held``).

Purged every hour (each job on its own, so one failing does not stop the others):
attempt counters (``Throttle.purge``), status-lookup failures
(``StatusLookup.purge``), expired staff sessions and old login attempts
(``StaffAuth.purge``) and the web chat's record of sent guides
(``ReviewDesk.purge_sent``).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, Iterable, List, Tuple

from ..console.auth import StaffAuth
from ..review import ReviewDesk
from ..status_lookup import StatusLookup
from ..throttle import Throttle

logger = logging.getLogger(__name__)

PURGE_EVERY = 3600.0
FLUSH_EVERY = 5.0


def purge_jobs(db_url: str) -> List[Tuple[str, Callable[[], object]]]:
    return [
        ("attempt counters", Throttle(db_url).purge),
        ("status lookup failures", StatusLookup(db_url).purge),
        ("staff sessions and login attempts", StaffAuth(db_url).purge),
        ("sent guides", ReviewDesk(db_url).purge_sent),
    ]


def purge_once(jobs: Iterable[Tuple[str, Callable[[], object]]]) -> int:
    """Run every job; returns how many failed (each failure is logged, the rest still run)."""
    failed = 0
    for name, job in jobs:
        try:
            job()
        except Exception:  # noqa: BLE001 - the database may be down: try again next time
            failed += 1
            logger.warning("purge of %s failed", name)
    return failed


async def purge_loop(db_url: str, every: float = PURGE_EVERY, jobs=None) -> None:
    jobs = jobs if jobs is not None else purge_jobs(db_url)
    while True:
        await asyncio.to_thread(purge_once, jobs)
        await asyncio.sleep(every)


async def flush_loop(held, desk, every: float = FLUSH_EVERY) -> None:
    while True:
        await asyncio.sleep(every)
        if held.count():
            written = await asyncio.to_thread(held.flush, desk)
            if written:
                logger.info("%s held citizen message(s) written to the desk", written)
