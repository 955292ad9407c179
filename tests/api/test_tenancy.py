"""Tenant isolation and roles, over every operation of the OpenAPI document."""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import js_step, noop_chain, wait_for

ORGS = "/tca/workflows/api/v1/orgs"
ROLES = ("viewer", "designer", "operator", "admin")
IMPLIED = {
    "viewer": {"viewer"},
    "designer": {"designer", "viewer"},
    "operator": {"operator", "viewer"},
    "admin": {"admin", "designer", "operator", "viewer"},
}
# Operations outside any tenant that every caller may use.
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/tca/workflows/api/v1/stepTypes")}
_counter = itertools.count()
# Creates whose body names another tenant's workflow.
FOREIGN_ID_IN_BODY = {
    ("PUT", "/tca/workflows/api/v1/orgs/{tenantId}/workflowExecution"),
    ("POST", "/tca/workflows/api/v1/orgs/{tenantId}/workflowExecution"),
}


@dataclass
class Call:
    """One request: path parameters filled in, and an optional body."""

    path: str
    json: Any = None
    files: list[tuple[str, Any]] | None = None


class World:
    """Creates tenants, tokens and resources with the bootstrap (system) token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.tokens: dict[tuple[str, str], str] = {}

    async def tenant(self, tenant_id: str) -> None:
        response = await self.client.post(ORGS, json={"id": tenant_id, "name": tenant_id.upper()})
        assert response.status_code == 200, response.text
        for role in ROLES:
            created = await self.client.post(
                f"{ORGS}/{tenant_id}/tokens", json={"name": role, "roles": [role]}
            )
            assert created.status_code == 200, created.text
            self.tokens[(tenant_id, role)] = created.json()["token"]

    def base(self, tenant: str) -> str:
        return f"{ORGS}/{tenant}"

    async def workflow(self, tenant: str, design: dict[str, Any] | None = None) -> str:
        files = [
            ("workflow", (None, json.dumps(design or noop_chain(2)), "application/json")),
            ("files", ("wf.txt", b"workflow file", "text/plain")),
        ]
        response = await self.client.post(f"{self.base(tenant)}/workflow", files=files)
        assert response.status_code == 200, response.text
        workflow_id: str = response.json()["id"]
        return workflow_id

    async def execution(self, tenant: str, state: str) -> str:
        design = noop_chain(2)
        if state == "FAILED":
            design["steps"]["s1"] = js_step("throw new Error('x')")
        workflow_id = await self.workflow(tenant, design)
        request = {"workflowId": workflow_id, "contextType": "NONE"}
        if state == "PAUSED":
            request["debugStepIds"] = ["s1"]
        files = [
            ("workflowExecution", (None, json.dumps(request), "application/json")),
            ("files", ("ex.txt", b"execution file", "text/plain")),
        ]
        response = await self.client.post(f"{self.base(tenant)}/workflowExecution", files=files)
        assert response.status_code == 200, response.text
        execution_id: str = response.json()["id"]
        await wait_for(self.client, execution_id, {state}, base=self.base(tenant))
        return execution_id

    async def token_id(self, tenant: str) -> str:
        response = await self.client.post(
            f"{self.base(tenant)}/tokens", json={"name": "spare", "roles": ["viewer"]}
        )
        token_id: str = response.json()["id"]
        return token_id


Builder = Callable[[World, str], Awaitable[Call]]
E = "/tca/workflows/api/v1/orgs/{tenantId}/workflowExecution"
W = "/tca/workflows/api/v1/orgs/{tenantId}/workflow"


async def _execution_call(world: World, tenant: str, state: str, suffix: str = "", body: Any = None) -> Call:
    execution_id = await world.execution(tenant, state)
    return Call(f"{world.base(tenant)}/workflowExecution/{execution_id}{suffix}", json=body)


# (method, path template) -> (role needed, builder of a request that succeeds for that role)
OPERATIONS: dict[tuple[str, str], tuple[str, Builder]] = {
    ("PUT", W): ("designer", lambda w, t: _ready(Call(f"{w.base(t)}/workflow", json=noop_chain(1)))),
    ("POST", W): (
        "designer",
        lambda w, t: _ready(
            Call(f"{w.base(t)}/workflow", files=[("workflow", (None, json.dumps(noop_chain(1))))])
        ),
    ),
    ("GET", W): ("viewer", lambda w, t: _ready(Call(f"{w.base(t)}/workflow"))),
    ("GET", W + "/{workflowId}"): ("viewer", lambda w, t: _workflow_call(w, t)),
    ("POST", W + "/{workflowId}"): ("designer", lambda w, t: _workflow_call(w, t, body=noop_chain(3))),
    ("DELETE", W + "/{workflowId}"): ("designer", lambda w, t: _workflow_call(w, t)),
    ("GET", W + "/{workflowId}/attachment/{name}"): (
        "viewer",
        lambda w, t: _workflow_call(w, t, "/attachment/wf.txt"),
    ),
    ("PUT", E): ("operator", lambda w, t: _create_json(w, t)),
    ("POST", E): ("operator", lambda w, t: _create_multipart(w, t)),
    ("GET", E): ("viewer", lambda w, t: _ready(Call(f"{w.base(t)}/workflowExecution"))),
    ("GET", E + "/{executionId}"): ("viewer", lambda w, t: _execution_call(w, t, "COMPLETED")),
    ("PATCH", E + "/{executionId}"): (
        "operator",
        lambda w, t: _execution_call(w, t, "PAUSED", body={"pauseAtFailure": True}),
    ),
    ("DELETE", E + "/{executionId}"): ("operator", lambda w, t: _execution_call(w, t, "COMPLETED")),
    ("GET", E + "/{executionId}/attachment/{name}"): (
        "viewer",
        lambda w, t: _execution_call(w, t, "COMPLETED", "/attachment/ex.txt"),
    ),
    ("DELETE", E + "/{executionId}/attachment/{name}"): (
        "operator",
        lambda w, t: _execution_call(w, t, "PAUSED", "/attachment/ex.txt"),
    ),
    ("POST", E + "/{executionId}/abort"): (
        "operator",
        lambda w, t: _execution_call(w, t, "PAUSED", "/abort"),
    ),
    ("POST", E + "/{executionId}/resume"): (
        "operator",
        lambda w, t: _execution_call(w, t, "PAUSED", "/resume"),
    ),
    ("POST", E + "/{executionId}/retry"): (
        "operator",
        lambda w, t: _execution_call(w, t, "FAILED", "/retry"),
    ),
    ("POST", E + "/{executionId}/attachment"): ("operator", lambda w, t: _add_attachment(w, t)),
    ("GET", E + "/{executionId}/logs"): ("viewer", lambda w, t: _execution_call(w, t, "COMPLETED", "/logs")),
    ("GET", ORGS): ("system", lambda w, t: _ready(Call(ORGS))),
    ("POST", ORGS): (
        "system",
        lambda w, t: _ready(Call(ORGS, json={"id": f"t{next(_counter)}", "name": "x"})),
    ),
    ("GET", ORGS + "/{tenantId}/settings"): ("admin", lambda w, t: _ready(Call(f"{w.base(t)}/settings"))),
    ("PATCH", ORGS + "/{tenantId}/settings"): (
        "admin",
        lambda w, t: _ready(Call(f"{w.base(t)}/settings", json={"retentionDays": 20})),
    ),
    ("GET", ORGS + "/{tenantId}/tokens"): ("admin", lambda w, t: _ready(Call(f"{w.base(t)}/tokens"))),
    ("POST", ORGS + "/{tenantId}/tokens"): (
        "admin",
        lambda w, t: _ready(Call(f"{w.base(t)}/tokens", json={"name": "n", "roles": ["viewer"]})),
    ),
    ("DELETE", ORGS + "/{tenantId}/tokens/{tokenId}"): ("admin", lambda w, t: _token_call(w, t)),
}


async def _ready(call: Call) -> Call:
    return call


async def _workflow_call(world: World, tenant: str, suffix: str = "", body: Any = None) -> Call:
    workflow_id = await world.workflow(tenant)
    return Call(f"{world.base(tenant)}/workflow/{workflow_id}{suffix}", json=body)


async def _create_json(world: World, tenant: str) -> Call:
    workflow_id = await world.workflow(tenant)
    return Call(
        f"{world.base(tenant)}/workflowExecution", json={"workflowId": workflow_id, "contextType": "NONE"}
    )


async def _create_multipart(world: World, tenant: str) -> Call:
    workflow_id = await world.workflow(tenant)
    request = json.dumps({"workflowId": workflow_id, "contextType": "NONE"})
    return Call(f"{world.base(tenant)}/workflowExecution", files=[("workflowExecution", (None, request))])


async def _add_attachment(world: World, tenant: str) -> Call:
    call = await _execution_call(world, tenant, "PAUSED", "/attachment")
    call.files = [("files", ("more.txt", b"more", "text/plain"))]
    return call


async def _token_call(world: World, tenant: str) -> Call:
    return Call(f"{world.base(tenant)}/tokens/{await world.token_id(tenant)}")


async def send(client: httpx.AsyncClient, method: str, call: Call, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return await client.request(method, call.path, json=call.json, files=call.files, headers=headers)


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    world = World(client)
    await world.tenant("alpha")
    await world.tenant("beta")
    return world


async def test_operations_are_all_covered(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}

    assert listed - PUBLIC == set(OPERATIONS), "add each new operation to OPERATIONS with its role"


@pytest.mark.parametrize(("method", "template"), sorted(OPERATIONS))
async def test_other_tenant_is_refused(world: World, method: str, template: str) -> None:
    role, build = OPERATIONS[(method, template)]
    foreign = await build(world, "beta")
    admin_a = world.tokens[("alpha", "admin")]

    on_foreign_path = await send(world.client, method, foreign, admin_a)
    own_path = Call(foreign.path.replace(f"{ORGS}/beta", f"{ORGS}/alpha"), foreign.json, foreign.files)
    on_own_path = await send(world.client, method, own_path, admin_a)

    assert on_foreign_path.status_code == 403, on_foreign_path.text
    assert "beta" not in on_foreign_path.text.replace("not 'beta'", "")
    if role == "system":
        assert on_own_path.status_code == 403
    elif "Id}" in template.replace("{tenantId}", "") or (method, template) in FOREIGN_ID_IN_BODY:
        assert on_own_path.status_code == 404, on_own_path.text
    else:
        assert on_own_path.status_code < 300, on_own_path.text
        assert "ex-" not in on_own_path.text or "beta" not in on_own_path.text


@pytest.mark.parametrize(("method", "template"), sorted(OPERATIONS))
async def test_roles_gate_operations(world: World, method: str, template: str) -> None:
    needed, build = OPERATIONS[(method, template)]
    for role in ROLES:
        call = await build(world, "alpha")

        response = await send(world.client, method, call, world.tokens[("alpha", role)])

        if needed in IMPLIED[role]:
            assert response.status_code < 300, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["errors"][0]["code"] == "FORBIDDEN"
