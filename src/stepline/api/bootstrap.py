"""First start: tenant `default` and an admin token, printed once and kept in a 0600 file."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from stepline.engine.deps import Engine
from stepline.store import tenants as tenant_store

logger = logging.getLogger("stepline.bootstrap")

DEFAULT_TENANT = "default"


async def bootstrap(engine: Engine, token_file: Path | None) -> str | None:
    """Create the default tenant and the admin token on an empty database.

    Returns the new token when one was created, None when the database had tokens already.
    """
    async with engine.db.write() as conn:
        if await tenant_store.count_tokens(conn) > 0:
            return None
        if await tenant_store.get_tenant(conn, DEFAULT_TENANT) is None:
            await tenant_store.create_tenant(conn, DEFAULT_TENANT, "Default tenant")
        token = engine.settings.bootstrap_token or secrets.token_urlsafe(32)
        await tenant_store.create_token(conn, DEFAULT_TENANT, "admin", token, ["system", "admin"])
    if token_file is not None and not engine.settings.bootstrap_token:
        token_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(token + "\n")
    logger.info("bootstrap_done tenant=%s", DEFAULT_TENANT)
    return token
