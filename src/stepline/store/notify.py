"""Wake-up signals for idle workers: PostgreSQL NOTIFY, sent when a transaction commits."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

CHANNEL = "stepline_work"


async def notify_work(conn: AsyncConnection) -> None:
    """Queue a notification that new work is runnable; PostgreSQL sends it at commit."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
