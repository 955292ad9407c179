"""The work claim and the lease of a worker on an execution.

A worker owns an execution only through a row that its own claim statement changed.
Every later write it makes checks that `lease_owner` is still the token of that claim.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from stepline.wire.execution import ExecutionStatus

from .tables import executions, tenants

RUNNABLE = (ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value)


def _under_tenant_limit(now: int) -> ColumnElement[bool]:
    """True while the execution's tenant runs fewer executions than its maximum."""
    other = executions.alias("other")
    running = (
        select(func.count())
        .select_from(other)
        .where(
            other.c.tenant_id == executions.c.tenant_id,
            other.c.lease_owner.is_not(None),
            other.c.lease_expires_at >= now,
        )
        .scalar_subquery()
    )
    limit = select(tenants.c.max_concurrent).where(tenants.c.id == executions.c.tenant_id).scalar_subquery()
    # CASE evaluates its branches in order on both databases, so the count runs only for
    # tenants that have a limit; OR gives no such promise.
    return case((limit.is_(None), True), (running < limit, True), else_=False) == True  # noqa: E712


def _claimable(now: int) -> list[ColumnElement[bool]]:
    return [
        executions.c.status.in_(RUNNABLE),
        executions.c.next_run_at <= now,
        or_(
            executions.c.lease_owner.is_(None),
            executions.c.lease_expires_at < now,
            # An abort whose deadline passed is taken even from a live lease: the worker
            # holding it did not end the step in time.
            executions.c.abort_requested.is_(True),
        ),
        # Last, so the cheap conditions above filter rows before the tenant's count runs.
        _under_tenant_limit(now),
    ]


async def claim_next(
    conn: AsyncConnection, lease_token: str, now: int, lease_ms: int
) -> dict[str, Any] | None:
    """Take one runnable execution whose lease is free or expired, in one statement.

    `lease_token` must be new for every claim, so that two claims of one execution by
    the same worker process stay distinct. While an abort is pending,
    `next_run_at` contains the abort's deadline.

    On PostgreSQL the candidate row is locked with FOR UPDATE SKIP LOCKED, so concurrent
    workers pick different rows instead of waiting on each other. The conditions are
    repeated on the outer UPDATE because PostgreSQL re-checks only those against a row
    that another transaction changed meanwhile. SQLite ignores the lock clause; there the
    caller's BEGIN IMMEDIATE already serialises writers.
    """
    candidate = (
        select(executions.c.tenant_id, executions.c.id)
        .where(*_claimable(now))
        .order_by(executions.c.next_run_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    statement = (
        update(executions)
        .where(tuple_(executions.c.tenant_id, executions.c.id) == candidate, *_claimable(now))
        .values(
            lease_owner=lease_token,
            lease_expires_at=now + lease_ms,
            version=executions.c.version + 1,
        )
        .returning(*executions.c)
    )
    row = (await conn.execute(statement)).mappings().first()
    return dict(row) if row else None


async def renew_lease(
    conn: AsyncConnection, tenant_id: str, execution_id: str, worker_id: str, expires_at: int
) -> bool:
    """Extend the lease; False means the worker no longer owns the execution."""
    result = await conn.execute(
        update(executions)
        .where(
            executions.c.tenant_id == tenant_id,
            executions.c.id == execution_id,
            executions.c.lease_owner == worker_id,
        )
        .values(lease_expires_at=expires_at)
    )
    return result.rowcount == 1


async def lock_execution(
    conn: AsyncConnection, tenant_id: str, execution_id: str, *, with_snapshot: bool = True
) -> dict[str, Any] | None:
    """Read the execution row with a row lock (PostgreSQL); the caller decides from it.

    Without `with_snapshot` the frozen design is left out: it is the largest column, and
    a worker that already has it saves decoding it at every step.
    """
    columns = [c for c in executions.c if with_snapshot or c.name != "snapshot"]
    query = (
        select(*columns)
        .where(executions.c.tenant_id == tenant_id, executions.c.id == execution_id)
        .with_for_update()
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def lease_state(
    conn: AsyncConnection, tenant_id: str, execution_id: str
) -> tuple[str | None, bool] | None:
    """Return the lease owner and the abort flag of an execution, or None when it is gone."""
    query = select(executions.c.lease_owner, executions.c.abort_requested).where(
        executions.c.tenant_id == tenant_id, executions.c.id == execution_id
    )
    row = (await conn.execute(query)).first()
    return None if row is None else (row[0], bool(row[1]))
