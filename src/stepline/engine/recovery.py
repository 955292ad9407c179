"""Ending an execution that the engine itself could not run."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update

from stepline.store import logs as log_store
from stepline.store.ids import now_ms
from stepline.store.tables import executions
from stepline.wire.execution import ExecutionStatus

from .deps import Engine

logger = logging.getLogger("stepline.worker")


async def fail_execution(engine: Engine, row: dict[str, Any], reason: str) -> None:
    """Mark the execution FAILED if the crashed claim still holds its lease.

    Only scalar columns are written, so a JSON value that made the runner crash cannot
    make this write fail too.
    """
    now = now_ms()
    message = f"execution failed: ENGINE_ERROR: the engine could not run this execution ({reason})"
    try:
        async with engine.db.write() as conn:
            result = await conn.execute(
                update(executions)
                .where(
                    executions.c.tenant_id == row["tenant_id"],
                    executions.c.id == row["id"],
                    executions.c.lease_owner == row["lease_owner"],
                )
                .values(
                    status=ExecutionStatus.FAILED.value,
                    end_time=now,
                    next_run_at=None,
                    lease_owner=None,
                    lease_expires_at=None,
                    version=executions.c.version + 1,
                )
            )
            if result.rowcount == 1:
                entry = {
                    "tenant_id": row["tenant_id"],
                    "execution_id": row["id"],
                    "step_seq": None,
                    "time": now,
                    "level": "ERROR",
                    "msg": message,
                }
                await log_store.insert_logs(conn, [entry])
    except Exception:
        # The lease expires and the next claim tries again; nothing more can be done here.
        logger.exception("execution_fail_failed id=%s", row["id"])
