"""The worker and the state machine against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
from sqlalchemy import select, update

from stepline.engine.deps import Engine
from stepline.engine.worker import Worker
from stepline.store.ids import now_ms
from stepline.store.tables import executions, step_executions
from tests.helpers import BASE, busy_js, create_workflow, js_step, noop_chain, start, wait_for


async def step_rows(engine: Engine, execution_id: str) -> list[dict[str, Any]]:
    async with engine.db.read() as conn:
        query = select(step_executions).where(step_executions.c.execution_id == execution_id)
        return [dict(row) for row in (await conn.execute(query.order_by(step_executions.c.seq))).mappings()]


async def test_long_chain_completes_in_order(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(50))

    created = (await start(client, workflow_id)).json()
    final = await wait_for(client, created["id"])

    assert final["status"] == "COMPLETED"
    assert [s["id"] for s in final["stepExecutions"]] == [str(i) for i in range(50)]
    assert [s["stepSnapshot"]["id"] for s in final["stepExecutions"]] == [f"s{i}" for i in range(50)]
    assert {s["state"] for s in final["stepExecutions"]} == {"finished"}
    assert {s["result"] for s in final["stepExecutions"]} == {"SUCCESS"}


async def test_loop_stops_at_step_limit(client: httpx.AsyncClient, engine: Engine) -> None:
    engine.settings.step_limit = 7
    design = noop_chain(2)
    design["steps"]["s1"]["nextStepId"] = "s0"
    workflow_id = await create_workflow(client, design)

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])

    assert final["status"] == "FAILED"
    assert len(final["stepExecutions"]) == 8
    last = final["stepExecutions"][-1]
    assert last["error"]["code"] == "STEP_LIMIT_EXCEEDED"
    assert last["result"] == "FAILURE"
    assert last["state"] == "finished"


async def test_failed_step_fails_execution(client: httpx.AsyncClient) -> None:
    design = noop_chain(3)
    design["steps"]["s1"] = js_step("throw new Error('link down')", nextStepId="s2")
    workflow_id = await create_workflow(client, design)

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])

    assert final["status"] == "FAILED"
    assert [s["stepSnapshot"]["id"] for s in final["stepExecutions"]] == ["s0", "s1"]
    failed = final["stepExecutions"][1]
    assert failed["state"] == "finished"
    assert failed["result"] == "FAILURE"
    assert failed["error"]["code"] == "SCRIPT_ERROR"
    assert "link down" in failed["error"]["message"]
    assert final["endTime"] is not None
    assert "link down" in final["logs"][-1]["msg"]


async def test_pause_at_failure_waits(client: httpx.AsyncClient) -> None:
    design = noop_chain(3)
    design["steps"]["s1"] = js_step("throw new Error('boom')", nextStepId="s2")
    workflow_id = await create_workflow(client, design)

    created = (await start(client, workflow_id, pauseAtFailure=True)).json()
    final = await wait_for(client, created["id"], {"PAUSED", "FAILED", "COMPLETED"})

    assert final["status"] == "PAUSED"
    assert final["stepExecutions"][-1]["state"] == "waitingAfterExecution"
    assert final["stepExecutions"][-1]["result"] == "FAILURE"
    assert final["endTime"] is None


async def test_breakpoint_pauses_before_step(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(3))

    created = (await start(client, workflow_id, debugStepIds=["s1"])).json()
    final = await wait_for(client, created["id"], {"PAUSED", "COMPLETED"})

    assert final["status"] == "PAUSED"
    assert [s["state"] for s in final["stepExecutions"]] == ["finished", "waitingBeforeExecution"]
    assert final["currentStepId"] == "s1"


async def test_retry_policy_retries_same_step(client: httpx.AsyncClient) -> None:
    design = noop_chain(2)
    design["variables"] = {"n": {"type": "integer", "defaultValue": 0}}
    design["steps"]["s0"] = js_step(
        "throw new Error('always fails')",
        nextStepId="s1",
        retry={"maxAttempts": 3, "initialInterval": "PT0.1S", "backoffCoefficient": 2},
    )
    workflow_id = await create_workflow(client, design)

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])

    assert final["status"] == "FAILED"
    assert len(final["stepExecutions"]) == 1
    step = final["stepExecutions"][0]
    assert step["attempt"] == 3
    assert step["result"] == "FAILURE"
    messages = [entry["msg"] for entry in step["logs"]]
    assert "attempt 1 of 3 failed; next attempt in 0.1 s" in messages
    assert "attempt 2 of 3 started" in messages
    assert "attempt 2 of 3 failed; next attempt in 0.2 s" in messages
    assert "attempt 3 of 3 started" in messages


async def test_step_timeout_fails_step(client: httpx.AsyncClient) -> None:
    design = noop_chain(1)
    design["steps"]["s0"] = js_step("while (true) {}", timeout="PT0.5S")
    workflow_id = await create_workflow(client, design)

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])

    assert final["status"] == "FAILED"
    assert final["stepExecutions"][0]["error"]["code"] in ("STEP_TIMEOUT", "SCRIPT_TIMEOUT")


async def test_hostile_scripts_do_not_stop_worker(client: httpx.AsyncClient) -> None:
    loop = noop_chain(1, "loop")
    loop["steps"]["s0"] = js_step("while (true) {}")
    hog = noop_chain(1, "hog")
    hog["steps"]["s0"] = js_step("let a = []; while (true) { a.push(new Array(100000).fill(1)); }")
    ids = []
    for design in (loop, hog, noop_chain(3, "healthy")):
        workflow_id = await create_workflow(client, design)
        ids.append((await start(client, workflow_id)).json()["id"])

    loop_final, hog_final, healthy = [await wait_for(client, i, timeout=60) for i in ids]

    assert loop_final["status"] == "FAILED"
    assert loop_final["stepExecutions"][0]["error"]["code"] == "SCRIPT_TIMEOUT"
    assert hog_final["status"] == "FAILED"
    assert hog_final["stepExecutions"][0]["error"]["code"] == "SCRIPT_MEMORY_EXCEEDED"
    assert healthy["status"] == "COMPLETED"
    later = await create_workflow(client, noop_chain(2, "after"))
    assert (await wait_for(client, (await start(client, later)).json()["id"]))["status"] == "COMPLETED"


async def test_expired_lease_records_worker_lost(client: httpx.AsyncClient, engine: Engine) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s0"])).json()
    await wait_for(client, created["id"], {"PAUSED"})
    # Make the row look like a worker died while running s0.
    async with engine.db.write() as conn:
        await conn.execute(
            update(step_executions)
            .where(step_executions.c.execution_id == created["id"])
            .values(state="executing", start_time=now_ms())
        )
        await conn.execute(
            update(executions)
            .where(executions.c.id == created["id"])
            .values(
                status="RUNNING",
                lease_owner="dead-worker",
                lease_expires_at=now_ms() - 1,
                next_run_at=now_ms(),
            )
        )

    final = await wait_for(client, created["id"])

    assert final["status"] == "FAILED"
    assert final["stepExecutions"][0]["error"]["code"] == "WORKER_LOST"
    assert len(final["stepExecutions"]) == 1


async def test_live_lease_is_not_taken(client: httpx.AsyncClient, engine: Engine) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s0"])).json()
    await wait_for(client, created["id"], {"PAUSED"})
    async with engine.db.write() as conn:
        await conn.execute(
            update(executions)
            .where(executions.c.id == created["id"])
            .values(
                status="RUNNING",
                lease_owner="other-worker",
                lease_expires_at=now_ms() + 60_000,
                next_run_at=now_ms(),
            )
        )
        await conn.execute(
            update(step_executions)
            .where(step_executions.c.execution_id == created["id"])
            .values(state="executable")
        )

    await asyncio.sleep(0.5)
    body = (await client.get(f"{BASE}/workflowExecution/{created['id']}")).json()

    assert body["status"] == "RUNNING"
    assert body["stepExecutions"][0]["state"] == "executable"


async def test_two_workers_run_each_step_once(engine: Engine, client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(5))
    extra = Worker(engine, "second-worker")
    task = asyncio.create_task(extra.run())
    try:
        ids = [(await start(client, workflow_id)).json()["id"] for _ in range(20)]
        finals = [await wait_for(client, execution_id) for execution_id in ids]
    finally:
        extra.stop()
        await task

    assert {final["status"] for final in finals} == {"COMPLETED"}
    for execution_id in ids:
        rows = await step_rows(engine, execution_id)
        assert [row["step_id"] for row in rows] == [f"s{i}" for i in range(5)]
        assert {row["attempt"] for row in rows} == {1}


async def test_tenant_concurrency_limit(client: httpx.AsyncClient, engine: Engine) -> None:
    await client.patch("/tca/workflows/api/v1/orgs/default/settings", json={"maxConcurrentExecutions": 1})
    design = noop_chain(1)
    design["steps"]["s0"] = busy_js(300)
    workflow_id = await create_workflow(client, design)
    ids = [(await start(client, workflow_id)).json()["id"] for _ in range(3)]

    finals = [await wait_for(client, execution_id) for execution_id in ids]

    spans = sorted(
        (final["stepExecutions"][0]["startTime"], final["stepExecutions"][0]["endTime"]) for final in finals
    )
    assert {final["status"] for final in finals} == {"COMPLETED"}
    for (_, previous_end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= previous_end
