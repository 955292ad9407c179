"""Database engines for SQLite and PostgreSQL from one code path.

SQLite runs in WAL mode with a busy timeout. Every write transaction starts with
`BEGIN IMMEDIATE`, which takes the write lock at the start. So two writers never both read
a row and then fail to upgrade their lock halfway through a transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


class StoreUnavailable(Exception):
    """The database could not be reached or did not respond in time."""


def normalize_url(url: str) -> str:
    """Return `url` with the async driver of its database (asyncpg, aiosqlite)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")


class Database:
    """An async engine plus the two transaction kinds the code uses: write and read."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "postgresql":
            options.update(pool_size=pool_size, max_overflow=pool_size)
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """Open a write transaction; commits on success, rolls back on any exception."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except (OperationalError, DBAPIError) as exc:
            if _is_connection_error(exc):
                raise StoreUnavailable(str(exc.orig)) from exc
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """Open a read transaction (a plain deferred BEGIN on SQLite)."""
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(sqlite_begin="DEFERRED")
                async with conn.begin():
                    yield conn
        except (OperationalError, DBAPIError) as exc:
            if _is_connection_error(exc):
                raise StoreUnavailable(str(exc.orig)) from exc
            raise

    async def close(self) -> None:
        await self.engine.dispose()


def _is_connection_error(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    # SQLSTATE class 08 is "connection exception" on PostgreSQL; 57P is an operator
    # intervention such as a shutdown.
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate.startswith("57P")):
        return True
    # SQLITE_BUSY (5) and SQLITE_LOCKED (6): the busy timeout ran out.
    return getattr(exc.orig, "sqlite_errorcode", None) in (5, 6)
