"""The multipart create operation end to end: design, files, worker, response shape."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from stepline.engine.deps import Engine
from tests.helpers import BASE, EXAMPLES, create_workflow, load_example, start, wait_for

# The TCA reference page of the multipart create operation, with its JSON examples.
REFERENCE_PAGE = Path(__file__).resolve().parent.parent / "data" / "create-by-multi-content.txt"
INVENTORY = (EXAMPLES / "inventory-report" / "inventory.csv").read_bytes()


def reference_response() -> dict[str, Any]:
    """Return the JSON example of the 200 response on the reference page."""
    text = REFERENCE_PAGE.read_text()
    section = text[text.index("Workflow execution successfully created") :]
    start_at = section.index("{")
    depth = 0
    for index, char in enumerate(section[start_at:], start_at):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            data: dict[str, Any] = json.loads(section[start_at : index + 1])
            return data
    raise AssertionError("no JSON object after the 200 response heading")


def assert_same_shape(expected: Any, actual: Any, path: str = "") -> None:
    """Every key of `expected` is in `actual` with a value of the same JSON type."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        missing = set(expected) - set(actual)
        assert not missing, f"{path}: missing keys {sorted(missing)}"
        for key, value in expected.items():
            assert_same_shape(value, actual[key], f"{path}/{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected an array, got {actual!r}"
        # The top-level lists must show items to compare; a nested one may be empty, such
        # as the log of a NOOP step.
        assert actual or path.count("/") > 1 or not isinstance(expected[0], dict), f"{path}: no items"
        for item in actual:
            assert_same_shape(expected[0], item, f"{path}/*")
    elif isinstance(expected, bool):
        assert isinstance(actual, bool), f"{path}: expected a boolean, got {actual!r}"
    elif isinstance(expected, str):
        assert isinstance(actual, str), f"{path}: expected a string, got {actual!r}"


async def run_inventory(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    workflow_id = await create_workflow(client, load_example("inventory-report"))
    response = await start(
        client, workflow_id, {"site": "north", "inventory": "inventory.csv"}, [("inventory.csv", INVENTORY)]
    )
    assert response.status_code == 200, response.text
    created = response.json()
    return created, await wait_for(client, created["id"])


async def test_inventory_example_completes(client: httpx.AsyncClient) -> None:
    created, final = await run_inventory(client)

    assert created["status"] == "QUEUED"
    assert final["status"] == "COMPLETED", final
    assert final["outputs"] == {"summary": "Site north: 5 devices, large site", "deviceCount": 5}
    assert final["variables"]["deviceNames"] == ["r1", "r2", "sw1", "sw2", "fw1"]
    steps = [(s["stepSnapshot"]["id"], s["state"], s["result"]) for s in final["stepExecutions"]]
    assert steps == [
        ("countDevices", "finished", "SUCCESS"),
        ("chooseReport", "finished", "SUCCESS"),
        ("largeSite", "finished", "SUCCESS"),
    ]
    assert [entry["msg"] for entry in final["stepExecutions"][0]["logs"]] == ["site north: 5 devices"]
    assert final["stepExecutions"][0]["inputs"]["csv"] == "inventory.csv"
    assert final["endTime"] is not None
    assert [entry["msg"] for entry in final["logs"]] == ["execution queued", "execution completed"]


async def test_create_response_has_reference_shape(client: httpx.AsyncClient) -> None:
    created, final = await run_inventory(client)
    reference = reference_response()

    # The create response is QUEUED: its step has not ended and has no logs yet, so the
    # reference's nested step fields are compared on the final read.
    top_level = {
        key: value for key, value in reference.items() if key not in ("stepExecutions", "logs", "endTime")
    }
    assert_same_shape(top_level, created)
    assert set(reference) <= set(created)
    assert_same_shape(reference, final)
    time_pattern = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    for value in (
        final["creationTime"],
        final["endTime"],
        final["retainedTil"],
        final["workflow"]["createdAt"],
    ):
        assert time_pattern.match(value), value


async def test_get_matches_create(client: httpx.AsyncClient) -> None:
    created, final = await run_inventory(client)

    response = await client.get(f"{BASE}/workflowExecution/{created['id']}")

    assert response.status_code == 200
    assert response.json() == final
    assert final["links"]["self"]["href"] == f"{BASE}/workflowExecution/{created['id']}"


async def test_attachment_download_is_byte_exact(client: httpx.AsyncClient) -> None:
    created, _ = await run_inventory(client)

    response = await client.get(f"{BASE}/workflowExecution/{created['id']}/attachment/inventory.csv")

    assert response.status_code == 200
    assert response.content == INVENTORY
    assert "filename*=UTF-8''inventory.csv" in response.headers["content-disposition"]


async def test_utf8_file_name_round_trips(client: httpx.AsyncClient, engine: Engine) -> None:
    design = load_example("inventory-report")
    workflow_id = await create_workflow(client, design)
    name = "inventaire-été ../../x.csv"
    request = {
        "workflowId": workflow_id,
        "contextType": "NONE",
        "assignments": {"site": "s", "inventory": name},
    }
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="workflowExecution"\r\n\r\n'
            f"{json.dumps(request)}\r\n--{boundary}\r\n"
            f'Content-Disposition: form-data; name="files"; filename="x.csv"; '
            f"filename*=UTF-8''inventaire-%C3%A9t%C3%A9%20..%2F..%2Fx.csv\r\n\r\n"
        ).encode()
        + INVENTORY
        + f"\r\n--{boundary}--\r\n".encode()
    )

    response = await client.post(
        f"{BASE}/workflowExecution",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status_code == 200, response.text
    assert list(response.json()["attachments"]) == [name]
    final = await wait_for(client, response.json()["id"])
    assert final["status"] == "COMPLETED"
    stored = [p.name for p in engine.blobs.root.rglob("*") if p.is_file()]
    assert len(stored) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", stored[0])


async def test_idempotency_key_creates_one_execution(client: httpx.AsyncClient, engine: Engine) -> None:
    workflow_id = await create_workflow(client, load_example("inventory-report"))
    request = {
        "workflowId": workflow_id,
        "contextType": "NONE",
        "assignments": {"site": "a", "inventory": "i.csv"},
    }
    headers = {"Idempotency-Key": "key-1"}
    files = [
        ("workflowExecution", (None, json.dumps(request), "application/json")),
        ("files", ("i.csv", INVENTORY)),
    ]

    first = await client.post(f"{BASE}/workflowExecution", files=files, headers=headers)
    second = await client.post(f"{BASE}/workflowExecution", files=files, headers=headers)

    assert first.status_code == 200
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    listing = (await client.get(f"{BASE}/workflowExecution")).json()
    assert len(listing["items"]) == 1
    assert len([p for p in engine.blobs.root.rglob("*") if p.is_file()]) == 1


async def test_list_pages_newest_first(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, load_example("inventory-report"))
    ids = []
    for index in range(3):
        response = await start(
            client, workflow_id, {"site": str(index), "inventory": "i.csv"}, [("i.csv", INVENTORY)]
        )
        ids.append(response.json()["id"])

    first = (await client.get(f"{BASE}/workflowExecution", params={"limit": 2})).json()
    second = (
        await client.get(f"{BASE}/workflowExecution", params={"limit": 2, "cursor": first["nextCursor"]})
    ).json()

    assert [item["id"] for item in first["items"]] == [ids[2], ids[1]]
    assert [item["id"] for item in second["items"]] == [ids[0]]
    assert "nextCursor" not in second or second["nextCursor"] is None
    assert all(step["logs"] == [] for item in first["items"] for step in item["stepExecutions"])
