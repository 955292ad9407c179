"""The worker loop: claim runnable executions and run them, a bounded number at a time.

Shutdown goes in phases: stop claiming, wait up to the grace period for running steps,
then cancel the rest. A cancelled execution keeps its lease until it expires; the next
worker that claims it records the interrupted step as WORKER_LOST.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

from stepline.steps.registry import close_runners
from stepline.store.ids import new_id, now_ms
from stepline.store.leases import claim_next

from .deps import Engine
from .listen import listen_for_work
from .purge import purge_expired
from .recovery import fail_execution
from .runner import ExecutionRunner

logger = logging.getLogger("stepline.worker")


def default_worker_id() -> str:
    return f"{socket.gethostname()[:24]}-{os.getpid()}-{new_id('w')[-6:]}"


class Worker:
    """Claims and runs executions until `stop()` is called."""

    def __init__(self, engine: Engine, worker_id: str | None = None) -> None:
        self.engine = engine
        self.worker_id = worker_id or default_worker_id()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._claims = 0

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        settings = self.engine.settings
        slots = asyncio.Semaphore(settings.worker_concurrency)
        logger.info("worker_started id=%s concurrency=%d", self.worker_id, settings.worker_concurrency)
        helpers = [asyncio.create_task(self._purge_loop())]
        if not self.engine.db.is_sqlite:
            helpers.append(
                asyncio.create_task(listen_for_work(self.engine.db.url, self.wake, self._stopping))
            )
        try:
            while not self._stopping.is_set():
                await slots.acquire()
                if self._stopping.is_set():
                    slots.release()
                    break
                claimed = await self._claim_one(slots)
                if not claimed:
                    slots.release()
                    await self._idle(settings.poll_interval_seconds)
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._drain()
            await close_runners()

    async def _purge_loop(self) -> None:
        interval = self.engine.settings.purge_interval_seconds
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
            except TimeoutError:
                pass
            if self._stopping.is_set():
                return
            try:
                while await purge_expired(self.engine) > 0 and not self._stopping.is_set():
                    pass
            except Exception:
                # The next round retries; a failed purge leaves rows for later, never half-deleted.
                logger.exception("purge_failed worker=%s", self.worker_id)

    async def _claim_one(self, slots: asyncio.Semaphore) -> bool:
        lease_ms = int(self.engine.settings.lease_seconds * 1000)
        try:
            async with self.engine.db.write() as conn:
                row = await claim_next(conn, self._lease_token(), now_ms(), lease_ms)
        except Exception:
            # A database outage must not end the worker: it retries at the next poll.
            logger.exception("claim_failed worker=%s", self.worker_id)
            return False
        if row is None:
            return False
        logger.debug("execution_claimed id=%s worker=%s", row["id"], self.worker_id)
        task = asyncio.create_task(self._run_execution(row))
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            slots.release()
            # A slot came free: there may be more work waiting.
            self._wake.set()

        task.add_done_callback(done)
        return True

    def _lease_token(self) -> str:
        """Return a new lease token: the worker id and a per-claim suffix."""
        self._claims += 1
        return f"{self.worker_id}/{self._claims}"

    async def _run_execution(self, row: dict[str, Any]) -> None:
        try:
            await ExecutionRunner(self.engine, row["lease_owner"], dict(row)).run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A crash here is a bug or a value the engine cannot handle. Retrying it through
            # the claim would crash again, so the execution fails with the error instead.
            logger.exception("execution_crashed id=%s worker=%s", row["id"], self.worker_id)
            await fail_execution(self.engine, row, f"{type(exc).__name__}: {exc}"[:500])

    async def _idle(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def _drain(self) -> None:
        if not self._tasks:
            logger.info("worker_stopped id=%s", self.worker_id)
            return
        grace = self.engine.settings.abort_grace_seconds
        logger.info("worker_stopping id=%s running=%d grace=%.1fs", self.worker_id, len(self._tasks), grace)
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=grace)
        logger.info("worker_stopped id=%s cancelled=%d", self.worker_id, len(pending))
