"""PostgreSQL LISTEN for the work channel: idle workers wake up when work becomes runnable.

Polling stays on as the fallback, so a lost notification or a broken listener
connection only delays work by one poll interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from stepline.store.notify import CHANNEL

logger = logging.getLogger("stepline.worker")

RECONNECT_SECONDS = 5.0


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_for_work(url: str, wake: Callable[[], None], stopping: asyncio.Event) -> None:
    """Call `wake` on every notification until `stopping` is set; reconnect after errors."""

    def on_notify(*_args: Any) -> None:
        wake()

    while not stopping.is_set():
        try:
            conn = await asyncpg.connect(_dsn(url))
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("listen_connect_failed: %s; polling only for %.0f s", exc, RECONNECT_SECONDS)
            await _sleep_unless(stopping, RECONNECT_SECONDS)
            continue
        try:
            await conn.add_listener(CHANNEL, on_notify)
            while not stopping.is_set() and not conn.is_closed():
                await _sleep_unless(stopping, 1.0)
        finally:
            await conn.close()


async def _sleep_unless(stopping: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
    except TimeoutError:
        pass
