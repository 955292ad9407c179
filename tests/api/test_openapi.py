"""The OpenAPI document describes the multipart create and its JSON part."""

from __future__ import annotations

import httpx


async def test_multipart_create_is_described(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()

    operation = document["paths"]["/tca/workflows/api/v1/orgs/{tenantId}/workflowExecution"]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["workflowExecution"]
    assert schema["properties"]["workflowExecution"] == {
        "$ref": "#/components/schemas/WorkflowExecutionCreateRequest"
    }
    assert schema["properties"]["files"] == {"type": "array", "items": {"type": "string", "format": "binary"}}
    request = document["components"]["schemas"]["WorkflowExecutionCreateRequest"]
    assert set(request["properties"]) == {
        "workflowId",
        "contextType",
        "context",
        "assignments",
        "attachments",
        "pauseAtFailure",
        "retainedTil",
        "debugStepIds",
    }
    assert request["required"] == ["workflowId", "contextType"]
    assert request["additionalProperties"] is False
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "404", "500"}


async def test_every_ref_resolves(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    text = str(document)
    schemas = document["components"]["schemas"]

    refs = {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}

    assert refs
    assert refs <= set(schemas), sorted(refs - set(schemas))


async def test_docs_page_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert "swagger" in response.text.lower()


async def test_unexpected_error_is_500_with_correlation(client: httpx.AsyncClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stepline.api import executions

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(executions, "load_execution", broken)

    response = await client.get("/tca/workflows/api/v1/orgs/default/workflowExecution/ex-x")

    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["code"] == "INTERNAL_ERROR"
    assert "correlation id" in error["message"]
    assert "boom" not in error["message"]
