"""Execution control: abort, resume, retry, change, delete, and execution attachments."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stepline.engine import control
from stepline.engine.create import upload_rows
from stepline.engine.deps import Engine
from stepline.engine.errors import Conflict, InvalidRequest, NotFound
from stepline.store import attachments as attachment_store
from stepline.store import executions as store
from stepline.store.ids import now_ms
from stepline.wire.execution import (
    ENDED_STATUSES,
    ExecutionStatus,
    ResumeRequest,
    RetryRequest,
    WorkflowExecution,
    WorkflowExecutionChange,
)
from stepline.wire.values import json_problem

from .auth import Operator
from .multipart import MultipartReader, boundary_of
from .shape import load_execution
from .uploads import upload_limits
from .workflows import ERRORS

router = APIRouter(prefix="/tca/workflows/api/v1/orgs/{tenantId}/workflowExecution", tags=["executions"])
EXECUTION = "/{executionId}"


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _wake(request: Request) -> None:
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()


async def _respond(engine: Engine, tenant_id: str, execution_id: str) -> WorkflowExecution:
    execution = await load_execution(engine.db, tenant_id, execution_id)
    if execution is None:
        raise NotFound("EXECUTION_NOT_FOUND", f"execution '{execution_id}' not found in tenant '{tenant_id}'")
    return execution


def _changes(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True) if model is not None else {}
    problem = json_problem(data)
    if problem:
        raise InvalidRequest("VALIDATION_FAILED", f"/: the request {problem}")
    return data


@router.post(
    EXECUTION + "/abort", response_model=WorkflowExecution, responses=ERRORS, summary="Abort an execution"
)
async def abort_execution(
    tenantId: str, executionId: str, caller: Operator, request: Request
) -> WorkflowExecution:
    engine = _engine(request)
    immediate = await control.abort(engine, tenantId, executionId)
    if not immediate:
        _wake(request)
        # The worker running the step stops it. The response follows once the abort is recorded, or
        # with the execution as it is when the abort deadline has passed.
        deadline = time.monotonic() + engine.settings.abort_timeout_seconds + 2
        while time.monotonic() < deadline:
            execution = await _respond(engine, tenantId, executionId)
            if execution.status in ENDED_STATUSES:
                return execution
            await asyncio.sleep(0.1)
    return await _respond(engine, tenantId, executionId)


@router.post(
    EXECUTION + "/resume",
    response_model=WorkflowExecution,
    responses=ERRORS,
    summary="Continue a paused execution",
)
async def resume_execution(
    tenantId: str,
    executionId: str,
    caller: Operator,
    request: Request,
    body: Annotated[ResumeRequest | None, Body()] = None,
) -> WorkflowExecution:
    engine = _engine(request)
    await control.resume(engine, tenantId, executionId, _changes(body))
    _wake(request)
    return await _respond(engine, tenantId, executionId)


@router.post(
    EXECUTION + "/retry",
    response_model=WorkflowExecution,
    responses=ERRORS,
    summary="Run the failed or aborted step again as a new step execution",
)
async def retry_execution(
    tenantId: str,
    executionId: str,
    caller: Operator,
    request: Request,
    body: Annotated[RetryRequest | None, Body()] = None,
) -> WorkflowExecution:
    engine = _engine(request)
    await control.retry(engine, tenantId, executionId, _changes(body))
    _wake(request)
    return await _respond(engine, tenantId, executionId)


@router.patch(EXECUTION, response_model=WorkflowExecution, responses=ERRORS, summary="Change an execution")
async def patch_execution(
    tenantId: str, executionId: str, caller: Operator, request: Request, body: WorkflowExecutionChange
) -> WorkflowExecution:
    engine = _engine(request)
    await control.patch(engine, tenantId, executionId, _changes(body))
    _wake(request)
    return await _respond(engine, tenantId, executionId)


@router.delete(EXECUTION, status_code=204, responses=ERRORS, summary="Delete an ended execution")
async def delete_execution(tenantId: str, executionId: str, caller: Operator, request: Request) -> Response:
    await control.delete(_engine(request), tenantId, executionId)
    return Response(status_code=204)


@router.post(
    EXECUTION + "/attachment",
    response_model=WorkflowExecution,
    responses=ERRORS,
    summary="Add files (multipart parts `files`) to a queued or paused execution",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                        },
                    }
                }
            },
        }
    },
)
async def add_attachments(
    tenantId: str, executionId: str, caller: Operator, request: Request
) -> WorkflowExecution:
    engine = _engine(request)
    reader = MultipartReader(
        boundary_of(request.headers.get("content-type")), engine.blobs, upload_limits(request), json_names=()
    )
    try:
        result = await reader.read(request.stream())
        now = now_ms()
        async with engine.db.write() as conn:
            row = await store.get_execution(conn, tenantId, executionId)
            if row is None:
                raise NotFound(
                    "EXECUTION_NOT_FOUND", f"execution '{executionId}' not found in tenant '{tenantId}'"
                )
            if row["status"] not in (ExecutionStatus.QUEUED.value, ExecutionStatus.PAUSED.value):
                raise Conflict(
                    "EXECUTION_NOT_PAUSED",
                    f"execution '{executionId}' is {row['status']}; files can be added while it is "
                    "QUEUED or PAUSED",
                )
            existing = {
                a["name"]
                for a in await attachment_store.list_attachments(conn, tenantId, "execution", executionId)
            }
            taken = sorted(existing & {u.name for u in result.uploads})
            if taken:
                raise Conflict(
                    "DUPLICATE_FILE_NAME", f"the execution already has files named {', '.join(taken)}"
                )
            rows = upload_rows(result.uploads, tenantId, "execution", executionId, now)
            await attachment_store.insert_attachments(conn, rows)
    except BaseException:
        reader.discard()
        raise
    return await _respond(engine, tenantId, executionId)


@router.delete(
    EXECUTION + "/attachment/{name:path}",
    status_code=204,
    responses=ERRORS,
    summary="Remove an attachment that no step has received yet",
)
async def delete_attachment(
    tenantId: str, executionId: str, name: str, caller: Operator, request: Request
) -> Response:
    engine = _engine(request)
    async with engine.db.write() as conn:
        row = await attachment_store.get_attachment(conn, tenantId, "execution", executionId, name)
        if row is None:
            raise NotFound(
                "ATTACHMENT_NOT_FOUND", f"attachment {name!r} not found on execution '{executionId}'"
            )
        if row["consumed_at"] is not None:
            raise Conflict(
                "ATTACHMENT_CONSUMED", f"attachment {name!r} was already passed to a step and stays"
            )
        await attachment_store.delete_attachment(conn, tenantId, "execution", executionId, name)
        unused = await attachment_store.unreferenced_keys(conn, [row["blob_key"]])
    engine.blobs.delete_many(unused)
    return Response(status_code=204)
