"""Pause, breakpoints, resume, retry, PATCH, abort and delete through the API."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from stepline.engine.deps import Engine
from tests.helpers import (
    BASE,
    busy_js,
    create_workflow,
    js_step,
    noop_chain,
    post_action,
    start,
    wait_for,
    wait_for_step,
)


def checked_design() -> dict[str, Any]:
    """s0 -> s1 (fails when input n is negative) -> s2."""
    design = noop_chain(3, "checked")
    design["inputs"] = {"n": {"type": "integer", "required": True}}
    design["steps"]["s1"] = {
        "type": "JS",
        "inBindings": {
            "script": {
                "type": "string",
                "defaultValue": (
                    "if (inputs.n < 0) throw new Error('n is negative'); return {doubled: inputs.n * 2};"
                ),
            },
            "n": {"type": "integer", "exportName": "n"},
        },
        "nextStepId": "s2",
    }
    return design


def summary(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(s["stepSnapshot"]["id"], s["state"], s["result"]) for s in body["stepExecutions"]]


async def test_retry_with_corrected_input_completes(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, checked_design())
    created = (await start(client, workflow_id, {"n": -1}, pauseAtFailure=True)).json()
    paused = await wait_for(client, created["id"], {"PAUSED", "FAILED"})
    assert paused["status"] == "PAUSED"

    response = await post_action(client, created["id"], "retry", {"assignments": {"n": 4}})
    assert response.status_code == 200, response.text
    final = await wait_for(client, created["id"])

    assert final["status"] == "COMPLETED"
    assert summary(final) == [
        ("s0", "finished", "SUCCESS"),
        ("s1", "finished", "FAILURE"),
        ("s1", "finished", "SUCCESS"),
        ("s2", "finished", "SUCCESS"),
    ]
    assert [s["id"] for s in final["stepExecutions"]] == ["0", "1", "2", "3"]
    assert final["stepExecutions"][1]["error"]["code"] == "SCRIPT_ERROR"
    assert final["stepExecutions"][2]["outputs"] == {"doubled": 8}
    assert final["assignments"]["n"] == 4


async def test_retry_of_failed_execution(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, checked_design())
    created = (await start(client, workflow_id, {"n": -1})).json()
    assert (await wait_for(client, created["id"]))["status"] == "FAILED"

    response = await post_action(client, created["id"], "retry", {"assignments": {"n": 1}})
    assert response.status_code == 200, response.text
    final = await wait_for(client, created["id"])

    assert final["status"] == "COMPLETED"
    assert final["endTime"] is not None
    assert [row[2] for row in summary(final)] == ["SUCCESS", "FAILURE", "SUCCESS", "SUCCESS"]


async def test_retry_with_corrected_step(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, checked_design())
    created = (await start(client, workflow_id, {"n": -1}, pauseAtFailure=True)).json()
    await wait_for(client, created["id"], {"PAUSED"})
    fixed = js_step("return {doubled: 0};", nextStepId="s2")

    response = await post_action(client, created["id"], "retry", {"steps": {"s1": fixed}})
    final = await wait_for(client, created["id"])

    assert response.status_code == 200, response.text
    assert final["status"] == "COMPLETED"
    assert final["stepExecutions"][2]["outputs"] == {"doubled": 0}


async def test_resume_after_failure_skips_step(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, checked_design())
    created = (await start(client, workflow_id, {"n": -1}, pauseAtFailure=True)).json()
    await wait_for(client, created["id"], {"PAUSED"})

    response = await post_action(client, created["id"], "resume")
    final = await wait_for(client, created["id"])

    assert response.status_code == 200, response.text
    assert final["status"] == "COMPLETED"
    assert summary(final) == [
        ("s0", "finished", "SUCCESS"),
        ("s1", "finished", "FAILURE"),
        ("s2", "finished", "SUCCESS"),
    ]


async def test_breakpoints_pause_and_resume(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(4))
    created = (await start(client, workflow_id, debugStepIds=["s1", "s3"])).json()

    first = await wait_for(client, created["id"], {"PAUSED"})
    assert summary(first) == [("s0", "finished", "SUCCESS"), ("s1", "waitingBeforeExecution", None)]
    await post_action(client, created["id"], "resume")
    second = await wait_for_step(client, created["id"], 3, "waitingBeforeExecution")
    assert second["status"] == "PAUSED"
    assert summary(second)[1:3] == [("s1", "finished", "SUCCESS"), ("s2", "finished", "SUCCESS")]
    await post_action(client, created["id"], "resume")
    final = await wait_for(client, created["id"])

    assert final["status"] == "COMPLETED"
    assert [row[0] for row in summary(final)] == ["s0", "s1", "s2", "s3"]


async def test_breakpoint_added_while_running(client: httpx.AsyncClient) -> None:
    design = noop_chain(3)
    design["steps"]["s0"] = busy_js(1500, nextStepId="s1")
    workflow_id = await create_workflow(client, design)
    created = (await start(client, workflow_id)).json()
    await wait_for_step(client, created["id"], 0, "executing")

    response = await client.patch(f"{BASE}/workflowExecution/{created['id']}", json={"debugStepIds": ["s2"]})
    assert response.status_code == 200, response.text
    paused = await wait_for(client, created["id"], {"PAUSED", "COMPLETED"})

    assert paused["status"] == "PAUSED"
    assert paused["debugStepIds"] == ["s2"]
    assert summary(paused)[-1] == ("s2", "waitingBeforeExecution", None)


async def test_pause_at_failure_set_while_running(client: httpx.AsyncClient) -> None:
    design = checked_design()
    design["steps"]["s0"] = busy_js(1000, nextStepId="s1")
    workflow_id = await create_workflow(client, design)
    created = (await start(client, workflow_id, {"n": -1})).json()
    await wait_for_step(client, created["id"], 0, "executing")

    await client.patch(f"{BASE}/workflowExecution/{created['id']}", json={"pauseAtFailure": True})
    final = await wait_for(client, created["id"], {"PAUSED", "FAILED"})

    assert final["status"] == "PAUSED"
    assert final["pauseAtFailure"] is True


async def test_restart_from_start_step(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, checked_design())
    created = (await start(client, workflow_id, {"n": -1})).json()
    await wait_for(client, created["id"])

    response = await client.patch(f"{BASE}/workflowExecution/{created['id']}", json={"startStepId": "s0"})
    assert response.status_code == 200, response.text
    await post_action(client, created["id"], "retry", {"assignments": {"n": 1}})
    final = await wait_for(client, created["id"])

    assert final["status"] in ("FAILED", "COMPLETED")
    assert [row[0] for row in summary(final)][:3] == ["s0", "s1", "s0"]


async def test_resume_needs_paused(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(1))
    created = (await start(client, workflow_id)).json()
    await wait_for(client, created["id"])

    response = await post_action(client, created["id"], "resume")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "EXECUTION_NOT_PAUSED"


async def test_retry_without_failed_step_is_409(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s1"])).json()
    await wait_for(client, created["id"], {"PAUSED"})

    response = await post_action(client, created["id"], "retry")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "NO_FAILED_STEP"


async def test_patch_rejects_unknown_field(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s1"])).json()

    response = await client.patch(f"{BASE}/workflowExecution/{created['id']}", json={"pauseAtFailur": True})

    assert response.status_code == 400
    assert "/pauseAtFailur: unknown field" in response.json()["errors"][0]["message"]


async def test_resume_rejects_undeclared_assignment(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, checked_design())
    created = (await start(client, workflow_id, {"n": -1}, pauseAtFailure=True)).json()
    await wait_for(client, created["id"], {"PAUSED"})

    response = await post_action(client, created["id"], "resume", {"assignments": {"m": 1}})

    assert response.status_code == 400
    assert "/assignments/m" in response.json()["errors"][0]["message"]
    assert (await client.get(f"{BASE}/workflowExecution/{created['id']}")).json()["status"] == "PAUSED"


# --- abort -------------------------------------------------------------------------


def assert_aborted(body: dict[str, Any]) -> None:
    assert body["status"] == "ABORTED"
    assert body["aborted"] is True
    assert body["endTime"] is not None
    assert all(step["state"] == "finished" for step in body["stepExecutions"])
    assert body["stepExecutions"][-1]["aborted"] is True


async def test_abort_running_step(client: httpx.AsyncClient, engine: Engine) -> None:
    engine.settings.js_time_seconds = 120
    design = noop_chain(2)
    design["steps"]["s0"] = busy_js(60_000, nextStepId="s1")
    workflow_id = await create_workflow(client, design)
    created = (await start(client, workflow_id)).json()
    await wait_for_step(client, created["id"], 0, "executing")

    loop = asyncio.get_running_loop()
    began = loop.time()
    response = await post_action(client, created["id"], "abort")
    elapsed = loop.time() - began

    assert response.status_code == 200, response.text
    assert_aborted(response.json())
    assert response.json()["stepExecutions"][0]["result"] == "ABORTED"
    assert elapsed < 10
    await asyncio.sleep(0.5)
    again = (await client.get(f"{BASE}/workflowExecution/{created['id']}")).json()
    assert again["status"] == "ABORTED"
    assert len(again["stepExecutions"]) == 1


async def test_abort_paused(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s1"])).json()
    await wait_for(client, created["id"], {"PAUSED"})

    response = await post_action(client, created["id"], "abort")

    assert response.status_code == 200
    assert_aborted(response.json())
    assert response.json()["stepExecutions"][-1]["result"] == "ABORTED"


async def test_abort_during_retry_backoff(client: httpx.AsyncClient) -> None:
    design = noop_chain(1)
    design["steps"]["s0"] = js_step(
        "throw new Error('flaky')", retry={"maxAttempts": 5, "initialInterval": "PT60S"}
    )
    workflow_id = await create_workflow(client, design)
    created = (await start(client, workflow_id)).json()
    await wait_for_step(client, created["id"], 0, "retry")

    response = await post_action(client, created["id"], "abort")

    assert response.status_code == 200
    assert_aborted(response.json())


async def test_second_abort_is_409(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s1"])).json()
    await wait_for(client, created["id"], {"PAUSED"})
    await post_action(client, created["id"], "abort")

    response = await post_action(client, created["id"], "abort")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "EXECUTION_ENDED"
    assert "ABORTED" in response.json()["errors"][0]["message"]


async def test_retry_after_abort_keeps_history(client: httpx.AsyncClient) -> None:
    design = noop_chain(1)
    design["steps"]["s0"] = js_step(
        "throw new Error('x')", retry={"maxAttempts": 5, "initialInterval": "PT60S"}
    )
    workflow_id = await create_workflow(client, design)
    created = (await start(client, workflow_id)).json()
    await wait_for_step(client, created["id"], 0, "retry")
    await post_action(client, created["id"], "abort")

    response = await post_action(client, created["id"], "retry", {"steps": {"s0": {"type": "NOOP"}}})
    final = await wait_for(client, created["id"])

    assert response.status_code == 200, response.text
    assert final["status"] == "COMPLETED"
    assert final["aborted"] is False
    assert summary(final) == [("s0", "finished", "ABORTED"), ("s0", "finished", "SUCCESS")]


async def test_abort_races_step_completion(client: httpx.AsyncClient) -> None:
    design = noop_chain(1)
    design["steps"]["s0"] = busy_js(40)
    workflow_id = await create_workflow(client, design)
    outcomes = []
    for _ in range(12):
        created = (await start(client, workflow_id)).json()
        # Spread the abort over queued, running and just-completed moments of the step.
        await asyncio.sleep(random.uniform(0.0, 0.15))
        response = await post_action(client, created["id"], "abort")
        await asyncio.sleep(0.2)
        final = (await client.get(f"{BASE}/workflowExecution/{created['id']}")).json()
        step = final["stepExecutions"][0]
        if response.status_code == 409:
            assert final["status"] == "COMPLETED"
            assert step["result"] == "SUCCESS"
            assert step["aborted"] is False
            assert final["aborted"] is False
        else:
            assert response.status_code == 200, response.text
            assert_aborted(final)
            assert step["result"] == "ABORTED"
            assert step["outputs"] == {}
        outcomes.append(final["status"])
    assert set(outcomes) <= {"COMPLETED", "ABORTED"}


async def test_delete_ended_execution(client: httpx.AsyncClient, engine: Engine) -> None:
    workflow_id = await create_workflow(client, noop_chain(1))
    created = (await start(client, workflow_id, files=[("a.txt", b"abc")])).json()
    await wait_for(client, created["id"])

    response = await client.delete(f"{BASE}/workflowExecution/{created['id']}")

    assert response.status_code == 204
    assert (await client.get(f"{BASE}/workflowExecution/{created['id']}")).status_code == 404
    assert [p for p in engine.blobs.root.rglob("*") if p.is_file()] == []


async def test_delete_paused_is_409(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s0"])).json()
    await wait_for(client, created["id"], {"PAUSED"})

    response = await client.delete(f"{BASE}/workflowExecution/{created['id']}")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "EXECUTION_NOT_ENDED"


@pytest.mark.parametrize("action", ["abort", "resume", "retry"])
async def test_unknown_execution_is_404(client: httpx.AsyncClient, action: str) -> None:
    response = await post_action(client, "ex-missing", action)

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "EXECUTION_NOT_FOUND"


async def test_abort_queued(client: httpx.AsyncClient, engine: Engine) -> None:
    engine.settings.js_time_seconds = 60
    await client.patch("/tca/workflows/api/v1/orgs/default/settings", json={"maxConcurrentExecutions": 1})
    busy = noop_chain(1, "busy")
    busy["steps"]["s0"] = busy_js(30_000)
    blocker = (await start(client, await create_workflow(client, busy))).json()
    await wait_for_step(client, blocker["id"], 0, "executing")
    # The tenant may run one execution at a time, so this one stays queued.
    queued = (await start(client, await create_workflow(client, noop_chain(2)))).json()
    await asyncio.sleep(0.3)
    assert (await client.get(f"{BASE}/workflowExecution/{queued['id']}")).json()["status"] == "QUEUED"

    response = await post_action(client, queued["id"], "abort")
    await post_action(client, blocker["id"], "abort")

    assert response.status_code == 200, response.text
    assert_aborted(response.json())
    assert response.json()["stepExecutions"][0]["result"] == "ABORTED"
    assert response.json()["stepExecutions"][0]["startTime"] is None


async def test_patch_file_input_must_be_attached(client: httpx.AsyncClient) -> None:
    design = noop_chain(2)
    design["inputs"] = {"f": {"type": "file"}}
    workflow_id = await create_workflow(client, design)
    created = (
        await start(client, workflow_id, {"f": "a.txt"}, [("a.txt", b"a")], debugStepIds=["s0"])
    ).json()
    await wait_for(client, created["id"], {"PAUSED"})

    response = await client.patch(
        f"{BASE}/workflowExecution/{created['id']}", json={"assignments": {"f": "b.txt"}}
    )

    assert response.status_code == 400
    assert "/assignments/f" in response.json()["errors"][0]["message"]
    assert "a.txt" in response.json()["errors"][0]["message"]
