"""Queries on stored workflow designs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import workflows


async def insert_workflow(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(insert(workflows).values(**row))


async def get_workflow(conn: AsyncConnection, tenant_id: str, workflow_id: str) -> dict[str, Any] | None:
    query = select(workflows).where(workflows.c.tenant_id == tenant_id, workflows.c.id == workflow_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def replace_workflow(
    conn: AsyncConnection, tenant_id: str, workflow_id: str, values: dict[str, Any]
) -> None:
    await conn.execute(
        update(workflows)
        .where(workflows.c.tenant_id == tenant_id, workflows.c.id == workflow_id)
        .values(**values)
    )


async def delete_workflow(conn: AsyncConnection, tenant_id: str, workflow_id: str) -> bool:
    result = await conn.execute(
        delete(workflows).where(workflows.c.tenant_id == tenant_id, workflows.c.id == workflow_id)
    )
    return result.rowcount == 1


async def list_workflows(
    conn: AsyncConnection,
    tenant_id: str,
    *,
    limit: int,
    after: tuple[int, str] | None,
    name: str | None = None,
    owner_type: str | None = None,
) -> list[dict[str, Any]]:
    """Return up to `limit` workflows, newest first, after the (created_at, id) cursor."""
    query = select(workflows).where(workflows.c.tenant_id == tenant_id)
    if name is not None:
        query = query.where(workflows.c.name == name)
    if owner_type is not None:
        query = query.where(workflows.c.owner_type == owner_type)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            or_(
                workflows.c.created_at < created_at,
                and_(workflows.c.created_at == created_at, workflows.c.id < last_id),
            )
        )
    query = query.order_by(workflows.c.created_at.desc(), workflows.c.id.desc()).limit(limit)
    return [dict(row) for row in (await conn.execute(query)).mappings()]
