"""Helpers shared by the API, engine and end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

BASE = "/tca/workflows/api/v1/orgs/default"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ENDED = {"COMPLETED", "FAILED", "ABORTED"}


def load_example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name / "design.json").read_text())
    return data


def noop_chain(count: int, name: str = "noop chain") -> dict[str, Any]:
    """A design of `count` NOOP steps in a row."""
    steps = {
        f"s{i}": {"type": "NOOP", **({"nextStepId": f"s{i + 1}"} if i + 1 < count else {})}
        for i in range(count)
    }
    return {"name": name, "version": "1", "schemaVersion": "3.0", "startStepId": "s0", "steps": steps}


def js_step(script: str, **extra: Any) -> dict[str, Any]:
    return {"type": "JS", "inBindings": {"script": {"type": "string", "defaultValue": script}}, **extra}


async def create_workflow(client: httpx.AsyncClient, design: dict[str, Any]) -> str:
    response = await client.put(f"{BASE}/workflow", json=design)
    assert response.status_code == 200, response.text
    workflow_id: str = response.json()["id"]
    return workflow_id


def multipart(
    request: dict[str, Any] | str | bytes, files: list[tuple[str, bytes]] = ()
) -> list[tuple[str, Any]]:  # type: ignore[assignment]
    body = request if isinstance(request, (str, bytes)) else json.dumps(request)
    parts: list[tuple[str, Any]] = [("workflowExecution", (None, body, "application/json"))]
    parts += [("files", (name, content, "application/octet-stream")) for name, content in files]
    return parts


async def start(
    client: httpx.AsyncClient,
    workflow_id: str,
    assignments: dict[str, Any] | None = None,
    files: list[tuple[str, bytes]] = (),
    **fields: Any,  # type: ignore[assignment]
) -> httpx.Response:
    request = {"workflowId": workflow_id, "contextType": "NONE", "assignments": assignments or {}, **fields}
    return await client.post(f"{BASE}/workflowExecution", files=multipart(request, list(files)))


async def wait_for(
    client: httpx.AsyncClient,
    execution_id: str,
    statuses: set[str] = ENDED,
    timeout: float = 30.0,
    base: str = BASE,
) -> dict[str, Any]:
    """Poll the execution until its status is in `statuses`; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"{base}/workflowExecution/{execution_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in statuses:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} still {body['status']} after {timeout} s: {body}")
        await asyncio.sleep(0.05)


def busy_js(ms: int, **extra: Any) -> dict[str, Any]:
    """A JS step that keeps the CPU busy for `ms` milliseconds (JS has no sleep)."""
    return js_step(f"const t = Date.now(); while (Date.now() - t < {ms}) {{}} return {{}};", **extra)


async def post_action(
    client: httpx.AsyncClient, execution_id: str, action: str, body: Any = None
) -> httpx.Response:
    url = f"{BASE}/workflowExecution/{execution_id}/{action}"
    if body is None:
        return await client.post(url)
    return await client.post(url, json=body)


async def wait_for_step(
    client: httpx.AsyncClient, execution_id: str, seq: int, state: str, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll until step execution `seq` is in `state`."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = (await client.get(f"{BASE}/workflowExecution/{execution_id}")).json()
        steps = body["stepExecutions"]
        if len(steps) > seq and steps[seq]["state"] == state:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"step {seq} of {execution_id} never reached {state}: {body}")
        await asyncio.sleep(0.02)
