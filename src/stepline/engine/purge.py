"""Retention: delete ended executions whose `retainedTil` has passed, with logs and blobs."""

from __future__ import annotations

import logging

from sqlalchemy import select

from stepline.store import attachments as attachment_store
from stepline.store import executions as store
from stepline.store.ids import now_ms
from stepline.store.leases import lock_execution
from stepline.store.tables import executions
from stepline.wire.execution import ENDED_STATUSES

from .deps import Engine

logger = logging.getLogger("stepline.purge")

ENDED = [status.value for status in ENDED_STATUSES]


async def purge_expired(engine: Engine, batch: int = 100) -> int:
    """Delete up to `batch` expired, ended executions; return how many were deleted.

    Paused, queued and running executions are never deleted, whatever their retainedTil.
    """
    now = now_ms()
    async with engine.db.read() as conn:
        query = (
            select(executions.c.tenant_id, executions.c.id)
            .where(executions.c.retained_til < now, executions.c.status.in_(ENDED))
            .limit(batch)
        )
        candidates = (await conn.execute(query)).all()
    deleted = 0
    for tenant_id, execution_id in candidates:
        async with engine.db.write() as conn:
            # The status is read again under the lock: a retry may have restarted it.
            row = await lock_execution(conn, tenant_id, execution_id)
            if row is None or row["status"] not in ENDED or row["retained_til"] >= now:
                continue
            keys = await attachment_store.delete_attachments_of(conn, tenant_id, "execution", execution_id)
            await store.delete_execution(conn, tenant_id, execution_id)
        engine.blobs.delete_many(keys)
        deleted += 1
    if deleted:
        logger.info("executions_purged count=%d", deleted)
    return deleted
