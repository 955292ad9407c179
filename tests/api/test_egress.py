"""The tenant's allow-list stops a step before it opens a connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from stepline.steps.egress import address_allowed
from tests.helpers import create_workflow, start, wait_for

SETTINGS = "/tca/workflows/api/v1/orgs/default/settings"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[object]]]:
    """A loopback TCP listener that records every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, peer = server.accept()
            except TimeoutError:
                continue
            accepted.append(peer)
            connection.close()

    thread = threading.Thread(target=accept)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def ssh_design(port: int) -> dict[str, object]:
    return {
        "name": "egress",
        "version": "1",
        "schemaVersion": "3.0",
        "startStepId": "ssh",
        "steps": {
            "ssh": {
                "type": "TCA_SSH",
                "inBindings": {
                    "host": {"type": "string", "defaultValue": "127.0.0.1"},
                    "port": {"type": "integer", "defaultValue": port},
                    "username": {"type": "string", "defaultValue": "nobody"},
                    "password": {"type": "password", "defaultValue": "x"},
                    "strictHostKeyChecking": {"type": "boolean", "defaultValue": False},
                    "script": {"type": "string", "defaultValue": "true"},
                },
            }
        },
    }


async def test_denied_host_is_never_contacted(
    client: httpx.AsyncClient, listener: tuple[int, list[object]]
) -> None:
    port, accepted = listener
    changed = await client.patch(SETTINGS, json={"allowedHosts": ["10.20.0.0/16", "*.lab.example"]})
    assert changed.status_code == 200, changed.text
    workflow_id = await create_workflow(client, ssh_design(port))

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])

    assert final["status"] == "FAILED"
    error = final["stepExecutions"][0]["error"]
    assert error["code"] == "EGRESS_DENIED"
    assert "127.0.0.1" in error["message"]
    assert accepted == []


async def test_allowed_host_is_contacted(
    client: httpx.AsyncClient, listener: tuple[int, list[object]]
) -> None:
    port, accepted = listener
    await client.patch(SETTINGS, json={"allowedHosts": ["127.0.0.0/8"]})
    workflow_id = await create_workflow(client, ssh_design(port))

    final = await wait_for(client, (await start(client, workflow_id)).json()["id"])

    assert final["stepExecutions"][0]["error"]["code"] != "EGRESS_DENIED"
    assert len(accepted) >= 1


async def test_settings_round_trip(client: httpx.AsyncClient) -> None:
    changed = await client.patch(SETTINGS, json={"allowedHosts": ["a.example"], "maxConcurrentExecutions": 3})
    read = await client.get(SETTINGS)

    assert changed.status_code == 200
    assert read.json()["settings"]["allowedHosts"] == ["a.example"]
    assert read.json()["settings"]["maxConcurrentExecutions"] == 3
    assert read.json()["settings"]["retentionDays"] == 30


@pytest.mark.parametrize(
    ("address", "patterns", "allowed"),
    [
        ("10.20.3.4", ("10.20.0.0/16",), True),
        ("10.21.3.4", ("10.20.0.0/16",), False),
        ("10.20.3.4", ("10.20.*",), True),
        ("::1", ("127.0.0.0/8",), False),
        ("::1", ("::1/128",), True),
        ("192.0.2.1", ("*",), True),
        ("192.0.2.1", (), False),
    ],
)
def test_address_patterns(address: str, patterns: tuple[str, ...], allowed: bool) -> None:
    assert address_allowed(address, patterns) is allowed


@pytest.mark.parametrize("pattern", ["10.0.0.0/33", "[[", "a b", ""])
async def test_invalid_host_pattern_is_400(client: httpx.AsyncClient, pattern: str) -> None:
    response = await client.patch(SETTINGS, json={"allowedHosts": [pattern]})

    assert response.status_code == 400
    assert "allowedHosts" in response.json()["errors"][0]["message"]
