"""Workflow executions: create (JSON, and the multipart operation), read, list."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from stepline.engine.create import Upload, create_execution
from stepline.engine.deps import Engine
from stepline.engine.errors import InvalidRequest, NotFound
from stepline.store import executions as store
from stepline.wire.common import Page, parse_time
from stepline.wire.execution import ExecutionStatus, WorkflowExecution, WorkflowExecutionCreateRequest

from .auth import Operator, Viewer
from .downloads import attachment_download
from .errors import validation_items
from .multipart import MultipartReader, boundary_of
from .paging import check_limit, decode_cursor, encode_cursor
from .shape import execution_response, load_execution
from .uploads import upload_limits
from .workflows import ERRORS

router = APIRouter(prefix="/tca/workflows/api/v1/orgs/{tenantId}", tags=["executions"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=256)]

MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "description": "The workflow execution to be created, and its files",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["workflowExecution"],
                    "properties": {
                        "workflowExecution": {"$ref": "#/components/schemas/WorkflowExecutionCreateRequest"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                },
                "encoding": {"workflowExecution": {"contentType": "application/json"}},
            }
        },
    }
}


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def _respond(engine: Engine, tenant_id: str, execution_id: str) -> WorkflowExecution:
    execution = await load_execution(engine.db, tenant_id, execution_id)
    if execution is None:
        raise NotFound("EXECUTION_NOT_FOUND", f"execution '{execution_id}' not found in tenant '{tenant_id}'")
    return execution


def _wake_worker(request: Request) -> None:
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()


def parse_create_request(data: bytes) -> WorkflowExecutionCreateRequest:
    """Parse the `workflowExecution` part as UTF-8 JSON, whatever its declared content type."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidRequest(
            "VALIDATION_FAILED", f"part 'workflowExecution' is not valid UTF-8 JSON: {exc}"
        ) from exc
    try:
        return WorkflowExecutionCreateRequest.model_validate(document)
    except ValidationError as exc:
        items = validation_items(list(exc.errors()))
        raise InvalidRequest.many([InvalidRequest(c, m).items[0] for c, m in items]) from exc


@router.put(
    "/workflowExecution",
    response_model=WorkflowExecution,
    responses=ERRORS,
    summary="Create and queue an execution from a JSON body",
)
async def create_execution_json(
    tenantId: str,
    caller: Operator,
    request: Request,
    body: WorkflowExecutionCreateRequest,
    idempotency_key: IdempotencyKey = None,
) -> WorkflowExecution:
    engine = _engine(request)
    execution_id, _ = await create_execution(
        engine,
        tenantId,
        caller.name,
        body,
        [],
        idempotency_key,
        request.state.tenant.retention_days,
        request.state.tenant.max_files,
    )
    _wake_worker(request)
    return await _respond(engine, tenantId, execution_id)


@router.post(
    "/workflowExecution",
    response_model=WorkflowExecution,
    responses=ERRORS,
    summary="Create a workflow execution (multipart: part workflowExecution and parts files)",
    openapi_extra=MULTIPART_BODY,
)
async def create_execution_multipart(
    tenantId: str,
    caller: Operator,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> WorkflowExecution:
    engine = _engine(request)
    reader = MultipartReader(
        boundary_of(request.headers.get("content-type")),
        engine.blobs,
        upload_limits(request),
        json_names=("workflowExecution",),
    )
    try:
        result = await reader.read(request.stream())
        if "workflowExecution" not in result.json_parts:
            raise InvalidRequest(
                "VALIDATION_FAILED",
                "missing multipart part 'workflowExecution' (the create request as JSON)",
            )
        body = parse_create_request(result.json_parts["workflowExecution"])
        uploads: list[Upload] = result.uploads
        execution_id, created = await create_execution(
            engine,
            tenantId,
            caller.name,
            body,
            uploads,
            idempotency_key,
            request.state.tenant.retention_days,
            request.state.tenant.max_files,
        )
    except BaseException:
        reader.discard()
        raise
    if not created:
        reader.discard()
    _wake_worker(request)
    return await _respond(engine, tenantId, execution_id)


@router.get(
    "/workflowExecution",
    response_model=Page[WorkflowExecution],
    responses=ERRORS,
    summary="List executions, newest first; items omit step logs",
)
async def list_executions(
    tenantId: str,
    caller: Viewer,
    request: Request,
    workflowId: str | None = None,
    status: Annotated[list[ExecutionStatus] | None, Query()] = None,
    contextType: str | None = None,
    createdAfter: str | None = None,
    createdBefore: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[WorkflowExecution]:
    check_limit(limit)
    filters: dict[str, Any] = {
        "workflow_id": workflowId,
        "status": [s.value for s in status] if status else None,
        "context_type": contextType,
        "created_after": _time_param("createdAfter", createdAfter),
        "created_before": _time_param("createdBefore", createdBefore),
    }
    engine = _engine(request)
    async with engine.db.read() as conn:
        rows = await store.list_executions(
            conn, tenantId, limit=limit + 1, after=decode_cursor(cursor), filters=filters
        )
        page = rows[:limit]
        steps = await store.list_step_executions(conn, tenantId, [row["id"] for row in page])
    by_execution: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        by_execution.setdefault(step["execution_id"], []).append(step)
    items = []
    for row in page:
        items.append(execution_response(row, by_execution.get(row["id"], []), [], set(), []))
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1]["creation_time"], page[-1]["id"]) if more else None
    return Page[WorkflowExecution](items=items, nextCursor=next_cursor)


def _time_param(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise InvalidRequest("VALIDATION_FAILED", f"{name}: {exc}") from exc


@router.get(
    "/workflowExecution/{executionId}",
    response_model=WorkflowExecution,
    responses=ERRORS,
    summary="Read an execution",
)
async def get_execution(
    tenantId: str, executionId: str, caller: Viewer, request: Request
) -> WorkflowExecution:
    return await _respond(_engine(request), tenantId, executionId)


@router.get(
    "/workflowExecution/{executionId}/attachment/{name:path}",
    responses=ERRORS,
    summary="Download an execution attachment",
)
async def download_execution_attachment(
    tenantId: str,
    executionId: str,
    name: str,
    caller: Viewer,
    request: Request,
) -> StreamingResponse:
    return await attachment_download(_engine(request), tenantId, "execution", executionId, name)
