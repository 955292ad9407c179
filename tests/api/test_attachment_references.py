"""Create requests whose `attachments` refer to files stored with the workflow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from stepline.engine.deps import Engine
from tests.helpers import BASE, EXAMPLES, load_example, multipart, start, wait_for

INVENTORY = (EXAMPLES / "inventory-report" / "inventory.csv").read_bytes()


async def create_workflow_with_file(client: httpx.AsyncClient, name: str = "inventory.csv") -> dict[str, Any]:
    """Create the inventory workflow with the multipart operation and one file; return it."""
    parts = [
        ("workflow", (None, json.dumps(load_example("inventory-report")), "application/json")),
        ("files", (name, INVENTORY, "text/csv")),
    ]
    response = await client.post(f"{BASE}/workflow", files=parts)
    assert response.status_code == 200, response.text
    workflow: dict[str, Any] = response.json()
    return workflow


def reference_request(workflow_id: str, attachments: dict[str, Any], file_input: str) -> dict[str, Any]:
    return {
        "workflowId": workflow_id,
        "contextType": "NONE",
        "assignments": {"site": "north", "inventory": file_input},
        "attachments": attachments,
    }


def same_name_request(workflow: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Return a create request that refers to the workflow's inventory.csv under that name."""
    stored = workflow["attachments"]["inventory.csv"]
    attachments = {"inventory.csv": {"id": stored["id"], "reference": True}}
    return {**reference_request(workflow["id"], attachments, "inventory.csv"), **fields}


def blob_files(engine: Engine) -> list[Path]:
    return [path for path in engine.blobs.root.rglob("*") if path.is_file()]


def error_text(response: httpx.Response) -> str:
    return " | ".join(error["message"] for error in response.json()["errors"])


@pytest.fixture
async def workflow(client: httpx.AsyncClient) -> dict[str, Any]:
    return await create_workflow_with_file(client)


async def test_reference_runs_with_workflow_file(
    client: httpx.AsyncClient, engine: Engine, workflow: dict[str, Any]
) -> None:
    stored = workflow["attachments"]["inventory.csv"]
    request = reference_request(
        workflow["id"], {"devices.csv": {"id": stored["id"], "reference": True}}, "devices.csv"
    )
    response = await client.post(f"{BASE}/workflowExecution", files=multipart(request))
    assert response.status_code == 200, response.text
    created = response.json()
    final = await wait_for(client, created["id"])
    download = await client.get(f"{BASE}/workflowExecution/{created['id']}/attachment/devices.csv")

    assert stored["reference"] is False
    assert created["attachments"]["devices.csv"]["reference"] is True
    assert created["attachments"]["devices.csv"]["id"] != stored["id"]
    assert final["status"] == "COMPLETED", final
    assert final["outputs"]["deviceCount"] == 5
    assert download.status_code == 200
    assert download.content == INVENTORY
    # The execution shares the workflow's blob: one file on disk.
    assert len(blob_files(engine)) == 1


async def test_reference_with_json_create(client: httpx.AsyncClient, workflow: dict[str, Any]) -> None:
    request = same_name_request(workflow)
    response = await client.put(f"{BASE}/workflowExecution", json=request)
    assert response.status_code == 200, response.text
    final = await wait_for(client, response.json()["id"])

    assert final["status"] == "COMPLETED", final
    assert final["attachments"]["inventory.csv"]["reference"] is True


async def test_shared_blob_outlives_workflow(
    client: httpx.AsyncClient, engine: Engine, workflow: dict[str, Any]
) -> None:
    request = same_name_request(workflow)
    created = (await client.post(f"{BASE}/workflowExecution", files=multipart(request))).json()
    await wait_for(client, created["id"])
    path = f"{BASE}/workflowExecution/{created['id']}/attachment/inventory.csv"

    deleted_workflow = await client.delete(f"{BASE}/workflow/{workflow['id']}")
    after_workflow = await client.get(path)
    files_after_workflow = len(blob_files(engine))
    deleted_execution = await client.delete(f"{BASE}/workflowExecution/{created['id']}")

    assert deleted_workflow.status_code == 204
    assert after_workflow.status_code == 200
    assert after_workflow.content == INVENTORY
    assert files_after_workflow == 1
    assert deleted_execution.status_code == 204
    assert blob_files(engine) == []


async def test_shared_blob_outlives_execution(
    client: httpx.AsyncClient, engine: Engine, workflow: dict[str, Any]
) -> None:
    request = same_name_request(workflow)
    created = (await client.post(f"{BASE}/workflowExecution", files=multipart(request))).json()
    await wait_for(client, created["id"])

    deleted_execution = await client.delete(f"{BASE}/workflowExecution/{created['id']}")
    workflow_file = await client.get(f"{BASE}/workflow/{workflow['id']}/attachment/inventory.csv")
    deleted_workflow = await client.delete(f"{BASE}/workflow/{workflow['id']}")

    assert deleted_execution.status_code == 204
    assert workflow_file.status_code == 200
    assert workflow_file.content == INVENTORY
    assert deleted_workflow.status_code == 204
    assert blob_files(engine) == []


async def test_removed_reference_keeps_blob(
    client: httpx.AsyncClient, engine: Engine, workflow: dict[str, Any]
) -> None:
    """Removing a referring attachment that no step has received leaves the workflow's file."""
    request = same_name_request(workflow, debugStepIds=["countDevices"])
    created = (await client.post(f"{BASE}/workflowExecution", files=multipart(request))).json()
    removed = await client.delete(f"{BASE}/workflowExecution/{created['id']}/attachment/inventory.csv")
    workflow_file = await client.get(f"{BASE}/workflow/{workflow['id']}/attachment/inventory.csv")

    assert created["status"] == "PAUSED"
    assert removed.status_code == 204
    assert workflow_file.status_code == 200
    assert len(blob_files(engine)) == 1


@pytest.mark.parametrize(
    ("attachments", "pointer", "words"),
    [
        (
            {"i.csv": {"id": "att-unknown", "reference": True}},
            "/attachments/i.csv/id",
            "is not the id of a file stored",
        ),
        ({"i.csv": {"id": "STORED", "reference": False}}, "/attachments/i.csv/reference", "must be true"),
        ({"i.csv": {"id": "STORED"}}, "/attachments/i.csv/reference", "must be true"),
        ({"": {"id": "STORED", "reference": True}}, "/attachments/", "is empty"),
        ({"a\u0000b": {"id": "STORED", "reference": True}}, "/attachments/a", "not valid Unicode"),
        ({"i.csv": {"id": "x\u0000", "reference": True}}, "/attachments/i.csv/id", "NUL"),
        ({"uploaded.csv": {"id": "STORED", "reference": True}}, "/attachments/uploaded.csv", "uploaded file"),
        ({"a\ud800b": {"id": "STORED", "reference": True}}, "/attachments/a\\ud800b", "not valid Unicode"),
        ({"..": {"id": "STORED", "reference": True}}, "/attachments/..", "dot segment"),
        ({".": {"id": "STORED", "reference": True}}, "/attachments/.", "dot segment"),
        ({"\U00020000" * 300: {"id": "STORED", "reference": True}}, "/attachments/", "1200 bytes in UTF-8"),
        ({"i.csv": {"id": "STORED", "reference": "yes"}}, "/attachments/i.csv/reference", "valid boolean"),
        ({"i.csv": {"id": "STORED", "reference": 1}}, "/attachments/i.csv/reference", "valid boolean"),
    ],
)
async def test_bad_reference_is_400(
    client: httpx.AsyncClient,
    engine: Engine,
    workflow: dict[str, Any],
    attachments: dict[str, Any],
    pointer: str,
    words: str,
) -> None:
    stored_id = workflow["attachments"]["inventory.csv"]["id"]
    entries = {
        name: {**entry, "id": entry["id"].replace("STORED", stored_id)} for name, entry in attachments.items()
    }
    request = reference_request(workflow["id"], entries, "uploaded.csv")
    response = await client.post(
        f"{BASE}/workflowExecution", files=multipart(request, [("uploaded.csv", b"name\nr1\n")])
    )
    listing = (await client.get(f"{BASE}/workflowExecution")).json()

    assert response.status_code == 400, response.text
    assert pointer in error_text(response)
    assert words in error_text(response)
    assert listing["items"] == []
    # Only the workflow's own file is stored; the upload of the rejected request is gone.
    assert len(blob_files(engine)) == 1


async def test_reference_to_other_workflow_is_400(
    client: httpx.AsyncClient, engine: Engine, workflow: dict[str, Any]
) -> None:
    other = await create_workflow_with_file(client, "other.csv")
    foreign_id = other["attachments"]["other.csv"]["id"]
    request = reference_request(
        workflow["id"], {"inventory.csv": {"id": foreign_id, "reference": True}}, "inventory.csv"
    )
    response = await client.post(f"{BASE}/workflowExecution", files=multipart(request))
    listing = (await client.get(f"{BASE}/workflowExecution")).json()

    assert response.status_code == 400, response.text
    assert f"not the id of a file stored with workflow '{workflow['id']}'" in error_text(response)
    assert listing["items"] == []
    assert len(blob_files(engine)) == 2


async def test_upload_still_needs_files_part(client: httpx.AsyncClient, workflow: dict[str, Any]) -> None:
    """A file input that names neither an upload nor a reference is rejected."""
    response = await start(client, workflow["id"], {"site": "north", "inventory": "inventory.csv"})

    assert response.status_code == 400, response.text
    assert "not among the uploaded files" in error_text(response)


async def test_create_racing_workflow_delete(client: httpx.AsyncClient, engine: Engine) -> None:
    """A create that refers to a file while the workflow is deleted either wins or is 400."""
    outcomes = []
    for _ in range(5):
        workflow = await create_workflow_with_file(client)
        request = same_name_request(workflow)
        created, deleted = await asyncio.gather(
            client.post(f"{BASE}/workflowExecution", files=multipart(request)),
            client.delete(f"{BASE}/workflow/{workflow['id']}"),
        )
        assert deleted.status_code == 204
        assert created.status_code in (200, 400, 404), created.text
        if created.status_code == 200:
            execution_id = created.json()["id"]
            await wait_for(client, execution_id)
            download = await client.get(f"{BASE}/workflowExecution/{execution_id}/attachment/inventory.csv")
            assert download.content == INVENTORY
            assert (await client.delete(f"{BASE}/workflowExecution/{execution_id}")).status_code == 204
        outcomes.append(created.status_code)

    listing = (await client.get(f"{BASE}/workflowExecution")).json()
    assert listing["items"] == []
    assert blob_files(engine) == []
    assert len(outcomes) == 5


async def test_too_many_references_is_400(
    client: httpx.AsyncClient, engine: Engine, workflow: dict[str, Any]
) -> None:
    stored_id = workflow["attachments"]["inventory.csv"]["id"]
    limit = engine.settings.max_files
    entries = {f"n{index}": {"id": stored_id, "reference": True} for index in range(limit)}
    request = reference_request(workflow["id"], entries, "n0")
    response = await client.post(
        f"{BASE}/workflowExecution", files=multipart(request, [("uploaded.csv", b"name\nr1\n")])
    )
    listing = (await client.get(f"{BASE}/workflowExecution")).json()

    assert response.status_code == 400, response.text
    assert f"more than the limit of {limit}" in error_text(response)
    assert listing["items"] == []
    assert len(blob_files(engine)) == 1


async def test_same_file_under_two_names(client: httpx.AsyncClient, workflow: dict[str, Any]) -> None:
    stored_id = workflow["attachments"]["inventory.csv"]["id"]
    entries = {name: {"id": stored_id, "reference": True} for name in ("one.csv", "two.csv")}
    request = reference_request(workflow["id"], entries, "two.csv")
    response = await client.post(f"{BASE}/workflowExecution", files=multipart(request))
    assert response.status_code == 200, response.text
    execution_id = response.json()["id"]
    final = await wait_for(client, execution_id)
    first = await client.get(f"{BASE}/workflowExecution/{execution_id}/attachment/one.csv")

    assert final["status"] == "COMPLETED", final
    assert sorted(final["attachments"]) == ["one.csv", "two.csv"]
    assert first.content == INVENTORY
