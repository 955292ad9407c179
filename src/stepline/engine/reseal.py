"""Re-sealing of stored secrets under the newest key, the second half of a key rotation."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Table, select, update

from stepline.store.tables import executions, step_executions, workflows

from .deps import Engine

logger = logging.getLogger("stepline.reseal")

# Each table with the primary key columns and the JSON columns that can hold sealed values.
SEALED_COLUMNS: list[tuple[Table, tuple[str, ...], tuple[str, ...]]] = [
    (workflows, ("tenant_id", "id"), ("design",)),
    (executions, ("tenant_id", "id"), ("snapshot", "assignments", "variables", "outputs")),
    (step_executions, ("tenant_id", "execution_id", "seq"), ("snapshot",)),
]
BATCH = 200


async def reseal_all(engine: Engine) -> int:
    """Seal every stored secret again with the newest key; return the number of rows changed."""
    changed = 0
    for table, keys, columns in SEALED_COLUMNS:
        offset = 0
        while True:
            async with engine.db.read() as conn:
                query = select(*[table.c[k] for k in keys], *[table.c[c] for c in columns])
                rows = (
                    (
                        await conn.execute(
                            query.order_by(*[table.c[k] for k in keys]).offset(offset).limit(BATCH)
                        )
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                break
            offset += len(rows)
            changed += await _reseal_rows(engine, table, keys, columns, [dict(row) for row in rows])
    logger.info("secrets_resealed rows=%d", changed)
    return changed


async def _reseal_rows(
    engine: Engine, table: Table, keys: tuple[str, ...], columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> int:
    changed = 0
    async with engine.db.write() as conn:
        for row in rows:
            values = {column: engine.sealer.reseal(row[column]) for column in columns}
            if values == {column: row[column] for column in columns}:
                continue
            condition = [table.c[key] == row[key] for key in keys]
            await conn.execute(update(table).where(*condition).values(**values))
            changed += 1
    return changed
