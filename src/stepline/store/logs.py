"""Log entries: append-only, per execution and step execution."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import log_entries

# Response bodies embed at most this many entries per step; the logs endpoint serves all.
EMBEDDED_LOG_LIMIT = 200


async def insert_logs(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(log_entries), rows)


async def recent_logs(
    conn: AsyncConnection, tenant_id: str, execution_id: str, limit: int = EMBEDDED_LOG_LIMIT
) -> tuple[list[dict[str, Any]], set[int | None]]:
    """Return the last `limit` entries of each step (and of the execution), oldest first.

    The second value contains the step sequences (None for the execution) that have more.
    """
    rank = (
        func.row_number()
        .over(partition_by=log_entries.c.step_seq, order_by=log_entries.c.id.desc())
        .label("rank")
    )
    inner = (
        select(
            log_entries.c.id,
            log_entries.c.step_seq,
            log_entries.c.time,
            log_entries.c.level,
            log_entries.c.msg,
            rank,
        )
        .where(log_entries.c.tenant_id == tenant_id, log_entries.c.execution_id == execution_id)
        .subquery()
    )
    query = select(inner).where(inner.c.rank <= limit + 1).order_by(inner.c.id)
    rows = [dict(row) for row in (await conn.execute(query)).mappings()]
    truncated = {row["step_seq"] for row in rows if row["rank"] == limit + 1}
    return [row for row in rows if row["rank"] <= limit], truncated


async def stream_logs(
    conn: AsyncConnection,
    tenant_id: str,
    execution_id: str,
    *,
    step_seq: int | None = None,
    after_id: int = 0,
    batch: int = 1000,
    once: bool = False,
) -> AsyncIterator[dict[str, Any]]:
    """Yield entries in insertion order, in batches, so memory stays bounded.

    With `once`, stop after the first batch (the caller opens one transaction per batch).
    """
    while True:
        query = select(log_entries).where(
            log_entries.c.tenant_id == tenant_id,
            log_entries.c.execution_id == execution_id,
            log_entries.c.id > after_id,
        )
        if step_seq is not None:
            query = query.where(log_entries.c.step_seq == step_seq)
        rows = (await conn.execute(query.order_by(log_entries.c.id).limit(batch))).mappings().all()
        for row in rows:
            yield dict(row)
        if once or len(rows) < batch:
            return
        after_id = rows[-1]["id"]
