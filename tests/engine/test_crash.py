"""Crash recovery with real worker processes killed by SIGKILL (PostgreSQL).

Two `stepline worker` processes run 200 executions of 20 steps. One of them is killed at
a random moment three times and started again. Every execution must end, every step
execution interrupted by a kill must carry exactly one WORKER_LOST failure per lost
attempt, and no step that completed may run again.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stepline.api.bootstrap import bootstrap
from stepline.engine.create import create_execution
from stepline.engine.deps import Engine
from stepline.store import workflows as workflow_store
from stepline.store.blobs import BlobStore
from stepline.store.db import Database
from stepline.store.ids import now_ms
from stepline.store.tables import executions, log_entries, step_executions
from stepline.wire.execution import WorkflowExecutionCreateRequest
from tests.conftest import PG_URL, _pg_admin, make_settings

EXECUTIONS = 200
STEPS = 20
KILLS = 3
DEADLINE_SECONDS = 420


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    name = f"stepline_crash_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield f"{PG_URL}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def crash_design() -> dict[str, object]:
    script = (
        "const t = Date.now(); while (Date.now() - t < 3) {} console.log('ran ' + inputs.step); return {};"
    )
    steps = {}
    for index in range(STEPS):
        step: dict[str, object] = {
            "type": "JS",
            "inBindings": {
                "script": {"type": "string", "defaultValue": script},
                "step": {"type": "string", "defaultValue": f"s{index}"},
            },
            "retry": {"maxAttempts": 10, "initialInterval": "PT0.1S", "backoffCoefficient": 1},
        }
        if index + 1 < STEPS:
            step["nextStepId"] = f"s{index + 1}"
        steps[f"s{index}"] = step
    return {"name": "crash", "version": "1", "schemaVersion": "3.0", "startStepId": "s0", "steps": steps}


def start_worker(env: dict[str, str], log_dir: Path, number: int) -> subprocess.Popen[bytes]:
    log = (log_dir / f"worker-{number}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "stepline.cli.main", "worker", "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def populate(engine: Engine) -> None:
    await bootstrap(engine, None)
    row = {
        "tenant_id": "default",
        "id": "wf-crash",
        "name": "crash",
        "version": "1",
        "owner_type": "USER",
        "read_only": False,
        "tags": [],
        "design": crash_design(),
        "created_at": now_ms(),
        "creation_user": "test",
        "updated_at": now_ms(),
    }
    async with engine.db.write() as conn:
        await workflow_store.insert_workflow(conn, row)
    request = WorkflowExecutionCreateRequest(workflowId="wf-crash", contextType="NONE")
    for _ in range(EXECUTIONS):
        await create_execution(engine, "default", "test", request, [])


async def busy_worker(engine: Engine, workers: list[subprocess.Popen[bytes]]) -> int | None:
    """Return the index of a worker that holds a lease now (a kill then interrupts work)."""
    async with engine.db.read() as conn:
        owners = (
            (
                await conn.execute(
                    select(executions.c.lease_owner).where(executions.c.lease_owner.is_not(None))
                )
            )
            .scalars()
            .all()
        )
    busy = [i for i, worker in enumerate(workers) if any(f"-{worker.pid}-" in owner for owner in owners)]
    return random.choice(busy) if busy else None


async def ended_count(engine: Engine) -> int:
    async with engine.db.read() as conn:
        query = (
            select(func.count())
            .select_from(executions)
            .where(executions.c.status.in_(["COMPLETED", "FAILED", "ABORTED"]))
        )
        return int((await conn.execute(query)).scalar_one())


async def test_workers_killed_with_sigkill(pg_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, pg_url, lease_seconds=2.0)
    engine = Engine(Database(pg_url), BlobStore(settings.resolved_blob_dir()), settings)
    env = {
        **os.environ,
        "STEPLINE_DATABASE_URL": pg_url,
        "STEPLINE_DATA_DIR": str(tmp_path / "data"),
        "STEPLINE_LEASE_SECONDS": "2",
        "STEPLINE_POLL_INTERVAL_SECONDS": "0.1",
        "STEPLINE_WORKER_CONCURRENCY": "8",
    }
    await populate(engine)
    workers = [start_worker(env, tmp_path, n) for n in range(2)]
    kills = 0
    try:
        begin = time.monotonic()
        next_kill = begin + random.uniform(2, 5)
        while True:
            done = await ended_count(engine)
            if done == EXECUTIONS:
                break
            assert time.monotonic() - begin < DEADLINE_SECONDS, f"only {done} of {EXECUTIONS} ended"
            victim = (
                await busy_worker(engine, workers)
                if kills < KILLS and time.monotonic() >= next_kill
                else None
            )
            if victim is not None:
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait(timeout=10)
                workers[victim] = start_worker(env, tmp_path, 10 + kills)
                kills += 1
                next_kill = time.monotonic() + random.uniform(2, 5)
            await asyncio.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
    assert kills == KILLS, f"the run ended after {kills} kills; all executions finished too early"
    await check_results(engine)


async def check_results(engine: Engine) -> None:
    async with engine.db.read() as conn:
        statuses = Counter((await conn.execute(select(executions.c.status))).scalars().all())
        steps = [dict(r) for r in (await conn.execute(select(step_executions))).mappings()]
        lost_lines = (
            await conn.execute(
                select(log_entries.c.execution_id, log_entries.c.step_seq).where(
                    log_entries.c.msg.like("WORKER_LOST:%")
                )
            )
        ).all()
        ran_lines = (
            await conn.execute(
                select(log_entries.c.execution_id, log_entries.c.step_seq).where(
                    log_entries.c.msg.like("ran %")
                )
            )
        ).all()
    await engine.db.close()
    lost = Counter((row[0], row[1]) for row in lost_lines)
    ran = Counter((row[0], row[1]) for row in ran_lines)
    interrupted = [s for s in steps if s["attempt"] > 1]
    print(
        f"\ncrash test: statuses={dict(statuses)} step_executions={len(steps)} "
        f"interrupted={len(interrupted)} worker_lost_entries={sum(lost.values())}"
    )

    by_execution = Counter(s["execution_id"] for s in steps)
    for execution_id, count in by_execution.items():
        if count != STEPS:
            mine = [s for s in steps if s["execution_id"] == execution_id]
            rows = sorted((s["seq"], s["step_id"], s["attempt"], s["result"]) for s in mine)
            print(f"execution {execution_id} has {count} step executions: {rows}")
            break
    assert statuses == {"COMPLETED": EXECUTIONS}
    assert len(steps) == EXECUTIONS * STEPS
    assert {s["state"] for s in steps} == {"finished"}
    assert {s["result"] for s in steps} == {"SUCCESS"}
    assert interrupted, "no step was interrupted by the kills"
    for step in steps:
        key = (step["execution_id"], step["seq"])
        # Each extra attempt comes from exactly one recorded WORKER_LOST.
        assert lost[key] == step["attempt"] - 1, (key, lost[key], step["attempt"])
        # The committed run logged once; a lost attempt's unflushed log may be gone.
        assert 1 <= ran[key] <= step["attempt"], (key, ran[key], step["attempt"])
    assert set(by_execution.values()) == {STEPS}
