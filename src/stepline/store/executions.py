"""Queries on executions and their step executions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import executions, step_executions


async def insert_execution(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(executions).values(**row))


async def get_execution(conn: AsyncConnection, tenant_id: str, execution_id: str) -> dict[str, Any] | None:
    query = select(executions).where(executions.c.tenant_id == tenant_id, executions.c.id == execution_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def find_by_idempotency_key(
    conn: AsyncConnection, tenant_id: str, key: str, created_after: int
) -> str | None:
    query = select(executions.c.id).where(
        executions.c.tenant_id == tenant_id,
        executions.c.idempotency_key == key,
        executions.c.creation_time >= created_after,
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def expire_idempotency_key(
    conn: AsyncConnection, tenant_id: str, key: str, created_before: int
) -> None:
    """Free a key whose execution is older than the idempotency window, so it can be reused."""
    await conn.execute(
        update(executions)
        .where(
            executions.c.tenant_id == tenant_id,
            executions.c.idempotency_key == key,
            executions.c.creation_time < created_before,
        )
        .values(idempotency_key=None)
    )


async def update_guarded(
    conn: AsyncConnection,
    tenant_id: str,
    execution_id: str,
    *,
    version: int,
    lease_owner: str | None,
    values: dict[str, Any],
) -> bool:
    """Apply `values` and bump the version if the row still has `version` (and lease owner).

    Returns False when another writer changed the row first: the caller's view is stale and
    it must discard its change.
    """
    conditions = [
        executions.c.tenant_id == tenant_id,
        executions.c.id == execution_id,
        executions.c.version == version,
    ]
    if lease_owner is not None:
        conditions.append(executions.c.lease_owner == lease_owner)
    result = await conn.execute(update(executions).where(*conditions).values(version=version + 1, **values))
    return result.rowcount == 1


async def list_executions(
    conn: AsyncConnection,
    tenant_id: str,
    *,
    limit: int,
    after: tuple[int, str] | None,
    filters: dict[str, Any],
) -> list[dict[str, Any]]:
    """Return up to `limit` executions, newest first, after the (creation_time, id) cursor."""
    query = select(executions).where(executions.c.tenant_id == tenant_id)
    if filters.get("workflow_id"):
        query = query.where(executions.c.workflow_id == filters["workflow_id"])
    if filters.get("status"):
        query = query.where(executions.c.status.in_(filters["status"]))
    if filters.get("context_type"):
        query = query.where(executions.c.context_type == filters["context_type"])
    if filters.get("created_after") is not None:
        query = query.where(executions.c.creation_time >= filters["created_after"])
    if filters.get("created_before") is not None:
        query = query.where(executions.c.creation_time < filters["created_before"])
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(
                executions.c.creation_time < created,
                and_(executions.c.creation_time == created, executions.c.id < last_id),
            )
        )
    query = query.order_by(executions.c.creation_time.desc(), executions.c.id.desc()).limit(limit)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def insert_step_execution(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(step_executions).values(**row))


async def update_step_execution(
    conn: AsyncConnection, tenant_id: str, execution_id: str, seq: int, values: dict[str, Any]
) -> None:
    await conn.execute(
        update(step_executions)
        .where(
            step_executions.c.tenant_id == tenant_id,
            step_executions.c.execution_id == execution_id,
            step_executions.c.seq == seq,
        )
        .values(**values)
    )


async def get_step_execution(
    conn: AsyncConnection, tenant_id: str, execution_id: str, seq: int
) -> dict[str, Any] | None:
    query = select(step_executions).where(
        step_executions.c.tenant_id == tenant_id,
        step_executions.c.execution_id == execution_id,
        step_executions.c.seq == seq,
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def list_step_executions(
    conn: AsyncConnection, tenant_id: str, execution_ids: Sequence[str]
) -> list[dict[str, Any]]:
    query = (
        select(step_executions)
        .where(
            step_executions.c.tenant_id == tenant_id,
            step_executions.c.execution_id.in_(execution_ids),
        )
        .order_by(step_executions.c.execution_id, step_executions.c.seq)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def delete_execution(conn: AsyncConnection, tenant_id: str, execution_id: str) -> None:
    """Delete the execution; step executions and log entries go with it (ON DELETE CASCADE)."""
    await conn.execute(
        delete(executions).where(executions.c.tenant_id == tenant_id, executions.c.id == execution_id)
    )
