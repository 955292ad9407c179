"""PostgreSQL LISTEN/NOTIFY: an idle worker starts new work at once, not at its next poll."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stepline.api.bootstrap import bootstrap
from stepline.engine.create import create_execution
from stepline.engine.deps import Engine
from stepline.engine.worker import Worker
from stepline.store import executions as execution_store
from stepline.store import workflows as workflow_store
from stepline.store.blobs import BlobStore
from stepline.store.db import Database
from stepline.store.ids import now_ms
from stepline.wire.execution import WorkflowExecutionCreateRequest
from tests.conftest import PG_URL, _pg_admin, make_settings
from tests.helpers import noop_chain


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    name = f"stepline_notify_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield f"{PG_URL}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_idle_worker_wakes_on_notify(pg_url: str, tmp_path: Path) -> None:
    # A poll interval far longer than the test: only a notification can start the work.
    settings = make_settings(tmp_path, pg_url, poll_interval_seconds=60.0)
    engine = Engine(Database(pg_url), BlobStore(settings.resolved_blob_dir()), settings)
    await bootstrap(engine, None)
    row = {
        "tenant_id": "default",
        "id": "wf-notify",
        "name": "n",
        "version": "1",
        "owner_type": "USER",
        "read_only": False,
        "tags": [],
        "design": noop_chain(2),
        "created_at": now_ms(),
        "creation_user": "test",
        "updated_at": now_ms(),
    }
    async with engine.db.write() as conn:
        await workflow_store.insert_workflow(conn, row)
    worker = Worker(engine)
    task = asyncio.create_task(worker.run())
    try:
        # Let the worker make its first (empty) claim and connect its listener.
        await asyncio.sleep(1.5)
        request = WorkflowExecutionCreateRequest(workflowId="wf-notify", contextType="NONE")
        execution_id, _ = await create_execution(engine, "default", "test", request, [])
        began = time.monotonic()
        status = "QUEUED"
        while status != "COMPLETED" and time.monotonic() - began < 10:
            await asyncio.sleep(0.05)
            async with engine.db.read() as conn:
                stored = await execution_store.get_execution(conn, "default", execution_id)
            assert stored is not None
            status = stored["status"]
        elapsed = time.monotonic() - began
    finally:
        worker.stop()
        await task
        await engine.db.close()

    assert status == "COMPLETED"
    assert elapsed < 5
