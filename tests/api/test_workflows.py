"""Workflow designs over the API: legacy conversion, replace, read-only, delete, lists."""

from __future__ import annotations

import httpx

from tests.helpers import BASE, create_workflow, noop_chain, start, wait_for

LEGACY = {
    "name": "legacy",
    "version": "1",
    "schemaVersion": "1.0",
    "inputs": {"who": {"type": "string", "required": True}},
    "variables": {"greeting": {"type": "string"}},
    "steps": [
        {
            "stepId": "greet",
            "type": "JS",
            "inBinding": [
                {"name": "script", "type": "string", "defaultValue": "return {text: 'hello ' + inputs.who};"},
                {"name": "who", "type": "string", "exportName": "who"},
            ],
            "outBinding": [{"name": "text", "type": "string", "exportName": "greeting"}],
            "nextStep": "END",
        }
    ],
}


async def test_legacy_design_is_converted(client: httpx.AsyncClient) -> None:
    response = await client.put(f"{BASE}/workflow", json=LEGACY)

    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["schemaVersion"] == "3.0"
    assert stored["startStepId"] == "greet"
    assert stored["steps"]["greet"]["outBindings"] == {"greeting": {"name": "text", "type": "string"}}
    final = await wait_for(client, (await start(client, stored["id"], {"who": "r17"})).json()["id"])
    assert final["variables"]["greeting"] == "hello r17"


async def test_read_only_workflow_cannot_be_replaced(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, {**noop_chain(1), "readOnly": True})

    response = await client.post(f"{BASE}/workflow/{workflow_id}", json=noop_chain(2))

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "WORKFLOW_READ_ONLY"


async def test_replace_keeps_id_and_creation(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(1))
    before = (await client.get(f"{BASE}/workflow/{workflow_id}")).json()

    response = await client.post(f"{BASE}/workflow/{workflow_id}", json=noop_chain(3, "bigger"))

    assert response.status_code == 200, response.text
    after = response.json()
    assert after["id"] == workflow_id
    assert after["name"] == "bigger"
    assert after["createdAt"] == before["createdAt"]
    assert len(after["steps"]) == 3


async def test_deleted_workflow_executions_still_run(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))
    created = (await start(client, workflow_id, debugStepIds=["s1"])).json()
    await wait_for(client, created["id"], {"PAUSED"})

    deleted = await client.delete(f"{BASE}/workflow/{workflow_id}")
    await client.post(f"{BASE}/workflowExecution/{created['id']}/resume")
    final = await wait_for(client, created["id"])

    assert deleted.status_code == 204
    assert (await client.get(f"{BASE}/workflow/{workflow_id}")).status_code == 404
    assert final["status"] == "COMPLETED"


async def test_list_filters_by_tag_and_name(client: httpx.AsyncClient) -> None:
    await create_workflow(client, {**noop_chain(1, "a"), "tags": [{"name": "day0"}]})
    await create_workflow(client, {**noop_chain(1, "b"), "tags": [{"name": "day1"}]})

    by_tag = (await client.get(f"{BASE}/workflow", params={"tag": "day0"})).json()
    by_name = (await client.get(f"{BASE}/workflow", params={"name": "b"})).json()

    assert [item["name"] for item in by_tag["items"]] == ["a"]
    assert [item["name"] for item in by_name["items"]] == ["b"]


async def test_password_default_is_masked(client: httpx.AsyncClient) -> None:
    design = {**noop_chain(1), "inputs": {"pw": {"type": "password", "defaultValue": "hunter2"}}}

    created = await client.put(f"{BASE}/workflow", json=design)
    read = await client.get(f"{BASE}/workflow/{created.json()['id']}")

    assert created.json()["inputs"]["pw"]["defaultValue"] == "******"
    assert "hunter2" not in read.text


async def test_step_types_are_listed(client: httpx.AsyncClient) -> None:
    response = await client.get("/tca/workflows/api/v1/stepTypes")

    types = {item["type"]: item for item in response.json()["items"]}
    assert types["TCA_SSH"]["supported"] is True
    assert types["TCA_SSH"]["inputs"]["host"]["required"] is True
    assert types["K8S"]["supported"] is False
