"""The design frozen in an execution, as the execution page shows it."""

from __future__ import annotations

from typing import Any

from stepline.engine.deps import Engine
from stepline.engine.errors import NotFound
from stepline.engine.sealing import mask_sealed
from stepline.store import executions as execution_store

from .views import mask_design


async def execution_design(engine: Engine, tenant_id: str, execution_id: str) -> dict[str, Any]:
    """Return the design frozen in the execution, with sealed and other secret defaults masked.

    NOTE: the API's execution response has no field with the whole frozen design (only
    the snapshots of steps that ran), so the UI reads it from the store.
    """
    async with engine.db.read() as conn:
        row = await execution_store.get_execution(conn, tenant_id, execution_id)
    if row is None:
        raise NotFound("EXECUTION_NOT_FOUND", f"execution '{execution_id}' not found in tenant '{tenant_id}'")
    design: dict[str, Any] = mask_design(mask_sealed(row["snapshot"]))
    return design
