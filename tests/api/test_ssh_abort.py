"""Abort of a step that runs a long remote command over SSH against a real sshd."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import create_workflow, post_action, start, wait_for_step
from tests.sshd_server import SshdServer, run_sshd


@pytest.fixture
def sshd() -> Iterator[SshdServer]:
    with run_sshd() as server:
        yield server


def remote_processes(marker: str) -> list[str]:
    result = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return result.stdout.split()


async def test_abort_stops_remote_sleep(client: httpx.AsyncClient, sshd: SshdServer) -> None:
    marker = f"stepline-abort-{uuid.uuid4().hex[:8]}"
    design = {
        "name": "sleep",
        "version": "1",
        "schemaVersion": "3.0",
        "startStepId": "sleep",
        "inputs": {"key": {"type": "password", "required": True}},
        "steps": {
            "sleep": {
                "type": "TCA_SSH",
                "inBindings": {
                    "host": {"type": "string", "defaultValue": sshd.host},
                    "port": {"type": "integer", "defaultValue": sshd.port},
                    "username": {"type": "string", "defaultValue": sshd.username},
                    "privateKey": {"type": "password", "exportName": "key"},
                    "hostKey": {"type": "string", "defaultValue": sshd.host_key},
                    "script": {"type": "string", "defaultValue": f"sh -c 'sleep 600; echo {marker}'"},
                },
            }
        },
    }
    workflow_id = await create_workflow(client, design)
    created = (await start(client, workflow_id, {"key": sshd.private_key})).json()
    await wait_for_step(client, created["id"], 0, "executing")
    for _ in range(100):
        if remote_processes(marker):
            break
        await asyncio.sleep(0.05)
    assert remote_processes(marker), "the remote command never started"

    loop = asyncio.get_running_loop()
    began = loop.time()
    response = await post_action(client, created["id"], "abort")
    elapsed = loop.time() - began
    for _ in range(40):
        if not remote_processes(marker):
            break
        await asyncio.sleep(0.05)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ABORTED"
    assert body["stepExecutions"][0]["result"] == "ABORTED"
    assert body["stepExecutions"][0]["aborted"] is True
    assert elapsed < 10
    assert remote_processes(marker) == []
