"""Bad input to the create operations: a clear 4xx, and nothing stored."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from stepline.engine.deps import Engine
from tests.helpers import BASE, create_workflow, js_step, load_example, multipart, noop_chain

CSV = b"name\nr1\n"


async def assert_nothing_stored(client: httpx.AsyncClient, engine: Engine) -> None:
    listing = (await client.get(f"{BASE}/workflowExecution")).json()
    assert listing["items"] == []
    assert [p for p in engine.blobs.root.rglob("*") if p.is_file()] == []


def messages(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"errors"}
    assert all(set(error) == {"code", "message"} for error in body["errors"])
    return " | ".join(error["message"] for error in body["errors"])


@pytest.fixture
async def inventory_id(client: httpx.AsyncClient) -> str:
    return await create_workflow(client, load_example("inventory-report"))


def request_for(workflow_id: str, **changes: Any) -> dict[str, Any]:
    request = {
        "workflowId": workflow_id,
        "contextType": "NONE",
        "assignments": {"site": "x", "inventory": "i.csv"},
    }
    request.update(changes)
    return request


async def post(client: httpx.AsyncClient, parts: list[tuple[str, Any]]) -> httpx.Response:
    return await client.post(f"{BASE}/workflowExecution", files=parts)


async def test_invalid_json_part(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    response = await post(client, multipart('{"workflowId": ', [("i.csv", CSV)]))

    assert response.status_code == 400
    assert "not valid UTF-8 JSON" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_missing_execution_part(client: httpx.AsyncClient, engine: Engine) -> None:
    response = await post(client, [("files", ("i.csv", CSV, "text/csv"))])

    assert response.status_code == 400
    assert "missing multipart part 'workflowExecution'" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_unknown_workflow(client: httpx.AsyncClient, engine: Engine) -> None:
    response = await post(client, multipart(request_for("wf-missing"), [("i.csv", CSV)]))

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "WORKFLOW_NOT_FOUND"
    assert "wf-missing" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_missing_required_input(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    request = request_for(inventory_id, assignments={"inventory": "i.csv"})

    response = await post(client, multipart(request, [("i.csv", CSV)]))

    assert response.status_code == 400
    assert "/assignments/site" in messages(response)
    assert "missing required input 'site'" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_wrong_input_type(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    request = request_for(inventory_id, assignments={"site": 42, "inventory": "i.csv"})

    response = await post(client, multipart(request, [("i.csv", CSV)]))

    assert response.status_code == 400
    assert "/assignments/site" in messages(response)
    assert "string" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_file_input_without_upload(
    client: httpx.AsyncClient, engine: Engine, inventory_id: str
) -> None:
    request = request_for(inventory_id, assignments={"site": "x", "inventory": "other.csv"})

    response = await post(client, multipart(request, [("i.csv", CSV)]))

    assert response.status_code == 400
    assert "other.csv" in messages(response)
    assert "i.csv" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_duplicate_file_names(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    response = await post(client, multipart(request_for(inventory_id), [("i.csv", CSV), ("i.csv", b"other")]))

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "DUPLICATE_FILE_NAME"
    await assert_nothing_stored(client, engine)



@pytest.mark.parametrize(
    ("file_name", "words"),
    [
        ("..", "dot segment"),
        (".", "dot segment"),
        ("\U00020000" * 300, "1200 bytes in UTF-8, more than 1024"),
    ],
)
async def test_unusable_file_name(
    client: httpx.AsyncClient, engine: Engine, inventory_id: str, file_name: str, words: str
) -> None:
    request = request_for(inventory_id, assignments={"site": "x", "inventory": file_name})
    response = await post(client, multipart(request, [(file_name, CSV)]))

    assert response.status_code == 400, response.text
    assert words in messages(response)
    await assert_nothing_stored(client, engine)

async def test_file_over_limit(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    engine.settings.max_file_bytes = 1024 * 1024
    big = b"x" * (1024 * 1024 + 1)

    response = await post(client, multipart(request_for(inventory_id), [("i.csv", CSV), ("big.bin", big)]))

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "FILE_TOO_LARGE"
    assert "big.bin" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_too_many_files(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    engine.settings.max_files = 2
    files = [(f"f{i}", b"1") for i in range(3)]

    response = await post(client, multipart(request_for(inventory_id), files))

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "TOO_MANY_FILES"
    await assert_nothing_stored(client, engine)


async def test_unknown_field_in_request(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    request = request_for(inventory_id, pauseAtFailur=True)

    response = await post(client, multipart(request, [("i.csv", CSV)]))

    assert response.status_code == 400
    assert "/pauseAtFailur: unknown field" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_unknown_part(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    parts = [*multipart(request_for(inventory_id), [("i.csv", CSV)]), ("extra", (None, "x"))]

    response = await post(client, parts)

    assert response.status_code == 400
    assert "unexpected multipart part 'extra'" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_wrong_media_type(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    response = await client.post(f"{BASE}/workflowExecution", json=request_for(inventory_id))

    assert response.status_code == 415
    assert "multipart/form-data" in messages(response)


async def test_past_retained_til(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    request = request_for(inventory_id, retainedTil="2020-01-01T00:00:00.000Z")

    response = await post(client, multipart(request, [("i.csv", CSV)]))

    assert response.status_code == 400
    assert "/retainedTil" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_unknown_debug_step(client: httpx.AsyncClient, engine: Engine, inventory_id: str) -> None:
    response = await post(
        client, multipart(request_for(inventory_id, debugStepIds=["nope"]), [("i.csv", CSV)])
    )

    assert response.status_code == 400
    assert "/debugStepIds/0" in messages(response)
    await assert_nothing_stored(client, engine)


async def test_missing_token_is_bare_401(client: httpx.AsyncClient, inventory_id: str) -> None:
    response = await client.post(
        f"{BASE}/workflowExecution",
        files=multipart(request_for(inventory_id), [("i.csv", CSV)]),
        headers={"Authorization": ""},
    )

    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["www-authenticate"] == "Bearer"


async def test_wrong_token_is_bare_401(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/workflow", headers={"Authorization": "Bearer wrong"})

    assert response.status_code == 401
    assert response.content == b""


async def test_unknown_tenant(client: httpx.AsyncClient) -> None:
    response = await client.get("/tca/workflows/api/v1/orgs/nobody/workflow")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "TENANT_NOT_FOUND"


@pytest.mark.parametrize(
    ("change", "pointer", "text"),
    [
        (lambda d: d["steps"]["s0"].update(nextStepId="ghost"), "/steps/s0/nextStepId", "ghost"),
        (
            lambda d: d["steps"]["s1"].update(type="TELEPORT"),
            "/steps/s1/type",
            "unknown step type 'TELEPORT'",
        ),
        (lambda d: d["steps"]["s1"].update(type="K8S"), "/steps/s1/type", "not supported yet"),
        (lambda d: d.update(colour="blue"), "/colour", "unknown field"),
        (lambda d: d["steps"]["s0"].update(nextStepID="s1"), "/steps/s0/nextStepID", "unknown field"),
    ],
)
async def test_invalid_design_rejected(
    client: httpx.AsyncClient, change: Any, pointer: str, text: str
) -> None:
    design = noop_chain(2)
    change(design)

    response = await client.put(f"{BASE}/workflow", json=design)

    assert response.status_code == 400
    assert pointer in messages(response)
    assert text in messages(response)
    listing = (await client.get(f"{BASE}/workflow")).json()
    assert listing["items"] == []


async def test_design_reports_every_problem(client: httpx.AsyncClient) -> None:
    design = noop_chain(3)
    design["steps"]["s0"]["nextStepId"] = "ghost1"
    design["steps"]["s1"]["nextStepId"] = "ghost2"
    design["steps"]["s2"] = js_step("return {}", nextStepId="ghost3")

    response = await client.put(f"{BASE}/workflow", json=design)

    assert response.status_code == 400
    assert len(response.json()["errors"]) == 3


async def test_json_create_works_without_files(client: httpx.AsyncClient) -> None:
    workflow_id = await create_workflow(client, noop_chain(2))

    response = await client.put(
        f"{BASE}/workflowExecution", json={"workflowId": workflow_id, "contextType": "NONE"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "QUEUED"


async def test_json_create_rejects_unknown_field(client: httpx.AsyncClient) -> None:
    response = await client.put(
        f"{BASE}/workflowExecution", json={"workflowId": "x", "contextType": "NONE", "extra": 1}
    )

    assert response.status_code == 400
    assert json.dumps(response.json()).count("/extra: unknown field") == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            '{"workflowId": "%s", "contextType": "NONE", "context": {"x": ' + "[" * 100 + "]" * 100 + "}}",
            "nested deeper",
        ),
        ('{"workflowId": "%s", "contextType": "NONE", "assignments": {"site": "\\ud800"}}', "surrogate"),
        ('{"workflowId": "%s", "contextType": "NONE", "assignments": {"site": NaN}}', "NaN"),
        ('{"workflowId": "%s", "contextType": "NONE", "context": {"k\\u0000": 1}}', "NUL"),
    ],
)
async def test_unstorable_values_are_400(
    client: httpx.AsyncClient, engine: Engine, inventory_id: str, body: str, fragment: str
) -> None:
    response = await post(client, multipart(body % inventory_id, [("i.csv", CSV)]))

    assert response.status_code == 400, response.text
    assert fragment in messages(response)
    await assert_nothing_stored(client, engine)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "multipart/form-data; boundary=abc",
            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--\r\n',
        ),
        ("multipart/form-data; boundary=abc", b"this is not multipart at all"),
        (
            "multipart/form-data; boundary=abc",
            b"--abc\r\nX-Long: " + b"h" * 30000 + b"\r\n\r\n1\r\n--abc--\r\n",
        ),
    ],
)
async def test_malformed_multipart_is_400(
    client: httpx.AsyncClient, engine: Engine, content_type: str, body: bytes
) -> None:
    response = await client.post(
        f"{BASE}/workflowExecution", content=body, headers={"Content-Type": content_type}
    )

    assert response.status_code == 400, response.text
    await assert_nothing_stored(client, engine)


async def test_large_json_body_is_413(client: httpx.AsyncClient, engine: Engine) -> None:
    design = noop_chain(1)
    # Over the default limit of 16 MiB for bodies that are not multipart.
    design["description"] = "x" * 17 * 1024 * 1024

    response = await client.put(f"{BASE}/workflow", json=design)

    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "REQUEST_TOO_LARGE"
