"""Attachment metadata; the content lives in the blob store under `blob_key`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .ids import now_ms
from .tables import attachments


async def insert_attachments(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(attachments), rows)


async def list_attachments(
    conn: AsyncConnection, tenant_id: str, owner_kind: str, owner_id: str
) -> list[dict[str, Any]]:
    query = (
        select(attachments)
        .where(
            attachments.c.tenant_id == tenant_id,
            attachments.c.owner_kind == owner_kind,
            attachments.c.owner_id == owner_id,
        )
        .order_by(attachments.c.name)
    )
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def get_attachment(
    conn: AsyncConnection, tenant_id: str, owner_kind: str, owner_id: str, name: str
) -> dict[str, Any] | None:
    query = select(attachments).where(
        attachments.c.tenant_id == tenant_id,
        attachments.c.owner_kind == owner_kind,
        attachments.c.owner_id == owner_id,
        attachments.c.name == name,
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def delete_attachments_of(
    conn: AsyncConnection, tenant_id: str, owner_kind: str, owner_id: str
) -> list[str]:
    """Delete the owner's attachment rows, and return the blob keys that no row refers to any more.

    The caller deletes those blobs after the commit.
    """
    result = await conn.execute(
        delete(attachments)
        .where(
            attachments.c.tenant_id == tenant_id,
            attachments.c.owner_kind == owner_kind,
            attachments.c.owner_id == owner_id,
        )
        .returning(attachments.c.blob_key)
    )
    return await unreferenced_keys(conn, [row[0] for row in result])


async def unreferenced_keys(conn: AsyncConnection, keys: list[str]) -> list[str]:
    """Return the blob keys among `keys` that no attachment row refers to."""
    if not keys:
        return []
    query = select(attachments.c.blob_key).where(attachments.c.blob_key.in_(keys)).distinct()
    still_used = {row[0] for row in await conn.execute(query)}
    return [key for key in dict.fromkeys(keys) if key not in still_used]


async def lock_workflow_attachments(
    conn: AsyncConnection, tenant_id: str, workflow_id: str, ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Return the workflow's attachments with these ids, by id, locked against deletion.

    On PostgreSQL the rows are locked FOR SHARE until the transaction ends, so a concurrent
    workflow delete waits, and its check for rows that still use the blobs finds the new ones.
    """
    query = (
        select(attachments)
        .where(
            attachments.c.tenant_id == tenant_id,
            attachments.c.owner_kind == "workflow",
            attachments.c.owner_id == workflow_id,
            attachments.c.id.in_(ids),
        )
        .with_for_update(read=True)
    )
    return {row["id"]: dict(row) for row in (await conn.execute(query)).mappings()}


async def mark_consumed(conn: AsyncConnection, tenant_id: str, execution_id: str, names: list[str]) -> None:
    await conn.execute(
        update(attachments)
        .where(
            attachments.c.tenant_id == tenant_id,
            attachments.c.owner_kind == "execution",
            attachments.c.owner_id == execution_id,
            attachments.c.name.in_(names),
            attachments.c.consumed_at.is_(None),
        )
        .values(consumed_at=now_ms())
    )


async def delete_attachment(
    conn: AsyncConnection, tenant_id: str, owner_kind: str, owner_id: str, name: str
) -> None:
    await conn.execute(
        delete(attachments).where(
            attachments.c.tenant_id == tenant_id,
            attachments.c.owner_kind == owner_kind,
            attachments.c.owner_id == owner_id,
            attachments.c.name == name,
        )
    )
