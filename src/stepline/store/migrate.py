"""Schema migrations with Alembic, configured in code (no alembic.ini needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is an ini parser: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema. Call it outside an event loop."""
    command.upgrade(alembic_config(url), "head")


async def upgrade_async(url: str) -> None:
    """Run `upgrade` in a thread, for callers inside an event loop."""
    await asyncio.to_thread(upgrade, url)
