"""The migrations build exactly the schema of the table definitions."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from stepline.store.migrate import upgrade
from stepline.store.tables import metadata


def test_migrations_match_tables(tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    upgrade(f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()

    assert differences == []
