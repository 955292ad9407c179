"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, and the API app.

`--db sqlite`, `--db postgresql` or `--db both` (the default) picks the databases. The
PostgreSQL server is STEPLINE_TEST_PG_URL (default: postgres on 127.0.0.1:5432); each
test gets a database cloned from a migrated template, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from stepline.config import Settings
from stepline.engine.deps import Engine
from stepline.store.blobs import BlobStore
from stepline.store.db import Database
from stepline.store.migrate import upgrade

PG_URL = os.environ.get("STEPLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")
ADMIN_TOKEN = "test-admin-token-0123456789"
TEMPLATE_SUFFIX = uuid.uuid4().hex[:8]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", default="both", choices=["sqlite", "postgresql", "both"], help="database(s) to test on"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        kinds = ["sqlite", "postgresql"] if choice == "both" else [choice]
        metafunc.parametrize("db_kind", kinds, scope="session")


async def _pg_admin(statement: str) -> None:
    try:
        conn = await asyncpg.connect(f"{PG_URL}/postgres")
    except OSError as exc:
        pytest.fail(
            f"PostgreSQL at {PG_URL} is not reachable ({exc}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
            "or set STEPLINE_TEST_PG_URL"
        )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"stepline_template_{TEMPLATE_SUFFIX}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    upgrade(f"{PG_URL}/{name}")
    yield name
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def _fresh_database(db_kind: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """Copy the migrated template of `db_kind`, yield its URL, and drop it at the end."""
    if db_kind == "sqlite":
        path = folder / "stepline.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"stepline_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield f"{PG_URL}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_url(db_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of `db_kind`, made for this test alone."""
    with _fresh_database(db_kind, request, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def module_db_url(
    db_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of `db_kind`, shared by the tests of one module."""
    with _fresh_database(db_kind, request, tmp_path_factory.mktemp("db")) as url:
        yield url


def make_settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "bootstrap_token": ADMIN_TOKEN,
        "lease_seconds": 5.0,
        "poll_interval_seconds": 0.05,
        "abort_grace_seconds": 2.0,
        "js_time_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url)


@pytest.fixture
def engine(settings: Settings) -> Engine:
    return Engine(
        Database(settings.resolved_database_url()), BlobStore(settings.resolved_blob_dir()), settings
    )


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app (with its in-process worker), authenticated as admin."""
    from stepline.api.app import create_app
    from stepline.api.bootstrap import bootstrap

    await bootstrap(engine, None)
    app = create_app(engine, run_worker=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://stepline.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        ) as http:
            yield http
