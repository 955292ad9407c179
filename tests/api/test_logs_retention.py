"""The logs endpoint, log limits, retention purge and execution attachments."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select, update

from stepline.engine.deps import Engine
from stepline.engine.purge import purge_expired
from stepline.store.tables import attachments, executions, log_entries
from tests.helpers import BASE, create_workflow, js_step, noop_chain, post_action, start, wait_for

LOGGING_SCRIPT = "console.log('first'); console.warn('second'); console.error('third'); return {};"


async def logged_execution(client: httpx.AsyncClient) -> str:
    design = noop_chain(2)
    design["steps"]["s1"] = js_step(LOGGING_SCRIPT)
    workflow_id = await create_workflow(client, design)
    created = (await start(client, workflow_id)).json()
    await wait_for(client, created["id"])
    execution_id: str = created["id"]
    return execution_id


async def test_logs_as_ndjson(client: httpx.AsyncClient) -> None:
    execution_id = await logged_execution(client)

    response = await client.get(f"{BASE}/workflowExecution/{execution_id}/logs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    entries = [json.loads(line) for line in response.text.splitlines()]
    assert [(e["msg"], e["level"]) for e in entries] == [
        ("execution queued", "INFO"),
        ("first", "INFO"),
        ("second", "WARN"),
        ("third", "ERROR"),
        ("execution completed", "INFO"),
    ]
    assert [e.get("stepExecutionId") for e in entries] == [None, "1", "1", "1", None]


async def test_logs_as_text_for_one_step(client: httpx.AsyncClient) -> None:
    execution_id = await logged_execution(client)

    response = await client.get(
        f"{BASE}/workflowExecution/{execution_id}/logs",
        params={"stepExecutionId": "1"},
        headers={"Accept": "text/plain"},
    )

    lines = response.text.splitlines()
    assert response.headers["content-type"].startswith("text/plain")
    assert len(lines) == 3
    assert lines[0].endswith("INFO  [step 1] first")
    assert lines[2].endswith("ERROR [step 1] third")


async def test_logs_follow_ends_with_execution(client: httpx.AsyncClient) -> None:
    execution_id = await logged_execution(client)

    response = await client.get(f"{BASE}/workflowExecution/{execution_id}/logs", params={"follow": "true"})

    events = [block for block in response.text.split("\n\n") if block]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert len(events) == 6
    assert events[-1] == 'event: end\ndata: {"status": "COMPLETED"}'
    assert json.loads(events[1].split("data: ", 1)[1])["msg"] == "first"


async def test_logs_bad_step_id_is_400(client: httpx.AsyncClient) -> None:
    execution_id = await logged_execution(client)

    response = await client.get(
        f"{BASE}/workflowExecution/{execution_id}/logs", params={"stepExecutionId": "x"}
    )

    assert response.status_code == 400
    assert "stepExecutionId" in response.json()["errors"][0]["message"]


async def test_long_log_line_is_cut(client: httpx.AsyncClient, engine: Engine) -> None:
    design = noop_chain(1)
    design["steps"]["s0"] = js_step("console.log('x'.repeat(100 * 1024)); return {};")
    workflow_id = await create_workflow(client, design)

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])

    line = final["stepExecutions"][0]["logs"][0]["msg"]
    limit = engine.settings.log_line_max_bytes
    assert line.startswith("x" * limit)
    assert line.endswith(f"[line cut: {100 * 1024 - limit} of {100 * 1024} bytes dropped]")


async def test_step_log_volume_is_capped(client: httpx.AsyncClient, engine: Engine) -> None:
    engine.settings.step_log_max_bytes = 1000
    design = noop_chain(1)
    design["steps"]["s0"] = js_step(
        "for (let i = 0; i < 100; i++) console.log('line ' + i + ' ' + 'y'.repeat(90)); return {};"
    )
    workflow_id = await create_workflow(client, design)

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])

    logs = final["stepExecutions"][0]["logs"]
    assert len(logs) == 11
    assert logs[-1]["level"] == "WARN"
    assert logs[-1]["msg"].startswith("log limit of 1000 bytes reached: 90 lines")


async def test_responses_embed_last_200_entries(client: httpx.AsyncClient) -> None:
    design = noop_chain(1)
    design["steps"]["s0"] = js_step("for (let i = 0; i < 250; i++) console.log('n' + i); return {};")
    workflow_id = await create_workflow(client, design)

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])
    all_logs = await client.get(
        f"{BASE}/workflowExecution/{final['id']}/logs", params={"stepExecutionId": "0"}
    )

    step = final["stepExecutions"][0]
    assert len(step["logs"]) == 200
    assert step["logs"][0]["msg"] == "n50"
    assert step["logsTruncated"] is True
    assert len(all_logs.text.splitlines()) == 250


async def test_purge_removes_only_ended(client: httpx.AsyncClient, engine: Engine) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    ended = (await start(client, workflow_id, files=[("a.bin", b"1" * 100)])).json()["id"]
    paused = (await start(client, workflow_id, files=[("b.bin", b"2" * 100)], debugStepIds=["s1"])).json()[
        "id"
    ]
    await wait_for(client, ended)
    await wait_for(client, paused, {"PAUSED"})
    async with engine.db.write() as conn:
        await conn.execute(update(executions).values(retained_til=1))

    deleted = await purge_expired(engine)

    assert deleted == 1
    assert (await client.get(f"{BASE}/workflowExecution/{ended}")).status_code == 404
    assert (await client.get(f"{BASE}/workflowExecution/{paused}")).json()["status"] == "PAUSED"
    async with engine.db.read() as conn:
        logs = (
            await conn.execute(
                select(func.count()).select_from(log_entries).where(log_entries.c.execution_id == ended)
            )
        ).scalar_one()
        files = (await conn.execute(select(attachments.c.name))).scalars().all()
    assert logs == 0
    assert files == ["b.bin"]
    assert len([p for p in engine.blobs.root.rglob("*") if p.is_file()]) == 1


async def test_add_and_remove_attachment(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s0"])).json()
    await wait_for(client, created["id"], {"PAUSED"})
    url = f"{BASE}/workflowExecution/{created['id']}/attachment"

    added = await client.post(url, files=[("files", ("late.txt", b"late", "text/plain"))])
    downloaded = await client.get(f"{url}/late.txt")
    removed = await client.delete(f"{url}/late.txt")
    missing = await client.get(f"{url}/late.txt")

    assert added.status_code == 200, added.text
    assert "late.txt" in added.json()["attachments"]
    assert downloaded.content == b"late"
    assert removed.status_code == 204
    assert missing.status_code == 404


async def test_add_attachment_to_ended_is_409(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(1))
    created = (await start(client, workflow_id)).json()
    await wait_for(client, created["id"])

    response = await client.post(
        f"{BASE}/workflowExecution/{created['id']}/attachment", files=[("files", ("x", b"x"))]
    )

    assert response.status_code == 409


async def test_patch_retained_til_in_past_is_400(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s0"])).json()

    response = await client.patch(
        f"{BASE}/workflowExecution/{created['id']}", json={"retainedTil": "2001-01-01T00:00:00Z"}
    )

    assert response.status_code == 400
    assert "/retainedTil" in response.json()["errors"][0]["message"]
    await post_action(client, created["id"], "abort")


async def test_logs_follow_resumes_after_last_event(client: httpx.AsyncClient) -> None:
    execution_id = await logged_execution(client)
    url = f"{BASE}/workflowExecution/{execution_id}/logs"
    first = await client.get(url, params={"follow": "true"})
    second_id = first.text.split("\n\n")[1].split("\n")[0].removeprefix("id: ")

    resumed = await client.get(url, params={"follow": "true"}, headers={"Last-Event-ID": second_id})

    events = [block for block in resumed.text.split("\n\n") if block]
    assert len(events) == 4
    assert json.loads(events[0].split("data: ", 1)[1])["msg"] == "second"
