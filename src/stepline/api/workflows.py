"""Workflow designs: create (JSON or multipart), read, list, replace, delete."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from stepline.design.parse import DesignError, parse_design
from stepline.engine.create import invalid, upload_rows
from stepline.engine.deps import Engine
from stepline.engine.errors import Conflict, InvalidRequest, NotFound
from stepline.engine.sealing import Sealer, seal_design
from stepline.store import attachments as attachment_store
from stepline.store import workflows as store
from stepline.store.ids import new_id, now_ms
from stepline.wire.common import ErrorResponse, Page
from stepline.wire.values import json_problem
from stepline.wire.workflow import Workflow, WorkflowBody

from .auth import Designer, Principal, Viewer
from .downloads import attachment_download
from .multipart import MultipartReader, boundary_of
from .paging import check_limit, decode_cursor, encode_cursor
from .shape import workflow_response
from .uploads import upload_limits

router = APIRouter(prefix="/tca/workflows/api/v1/orgs/{tenantId}", tags=["workflows"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 403, 404, 409, 413, 415, 500)
}
ERRORS[401] = {"description": "Missing or invalid token (no body)"}


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _parse(data: Any) -> WorkflowBody:
    problem = json_problem(data)
    if problem:
        raise InvalidRequest("VALIDATION_FAILED", f"/: the design {problem}")
    try:
        return parse_design(data)
    except DesignError as exc:
        raise invalid(exc.problems) from exc
    except RecursionError as exc:
        raise InvalidRequest("VALIDATION_FAILED", "/: a template in the design is nested too deeply") from exc


def _row(
    sealer: Sealer, tenant_id: str, caller: Principal, design: WorkflowBody, workflow_id: str, now: int
) -> dict[str, Any]:
    owner = (
        design.owner.model_dump(exclude_none=True) if design.owner else {"type": "USER", "id": caller.name}
    )
    document = seal_design(design.model_dump(mode="json", exclude_none=True), sealer)
    document["owner"] = owner
    return {
        "tenant_id": tenant_id,
        "id": workflow_id,
        "name": design.name,
        "version": design.version,
        "owner_type": owner.get("type", "USER"),
        "read_only": design.readOnly,
        "tags": [tag.name for tag in design.tags],
        "design": document,
        "created_at": now,
        "creation_user": caller.name,
        "updated_at": now,
    }


async def _get(engine: Engine, tenant_id: str, workflow_id: str) -> dict[str, Any]:
    async with engine.db.read() as conn:
        row = await store.get_workflow(conn, tenant_id, workflow_id)
    if row is None:
        raise NotFound("WORKFLOW_NOT_FOUND", f"workflow '{workflow_id}' not found in tenant '{tenant_id}'")
    return row


@router.put("/workflow", response_model=Workflow, responses=ERRORS, summary="Create a workflow from JSON")
async def create_workflow(
    tenantId: str, caller: Designer, request: Request, body: dict[str, Any]
) -> Workflow:
    design = _parse(body)
    row = _row(_engine(request).sealer, tenantId, caller, design, new_id("wf"), now_ms())
    async with _engine(request).db.write() as conn:
        await store.insert_workflow(conn, row)
    return workflow_response(row)


@router.post(
    "/workflow",
    response_model=Workflow,
    responses=ERRORS,
    summary="Create a workflow from multipart: part `workflow` (JSON) and parts `files`",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["workflow"],
                        "properties": {
                            "workflow": {"$ref": "#/components/schemas/WorkflowBody"},
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        },
                    }
                }
            },
        }
    },
)
async def create_workflow_multipart(tenantId: str, caller: Designer, request: Request) -> Workflow:
    engine = _engine(request)
    reader = MultipartReader(
        boundary_of(request.headers.get("content-type")),
        engine.blobs,
        upload_limits(request),
        json_names=("workflow",),
    )
    try:
        result = await reader.read(request.stream())
        if "workflow" not in result.json_parts:
            raise InvalidRequest(
                "VALIDATION_FAILED", "missing multipart part 'workflow' (the design as JSON)"
            )
        design = _parse(_load_json(result.json_parts["workflow"], "workflow"))
        now = now_ms()
        row = _row(_engine(request).sealer, tenantId, caller, design, new_id("wf"), now)
        files = upload_rows(result.uploads, tenantId, "workflow", row["id"], now)
        row["design"]["attachments"] = {
            **row["design"].get("attachments", {}),
            **{f["name"]: {"id": f["id"], "reference": False} for f in files},
        }
        async with engine.db.write() as conn:
            await store.insert_workflow(conn, row)
            await attachment_store.insert_attachments(conn, files)
    except BaseException:
        reader.discard()
        raise
    return workflow_response(row)


def _load_json(data: bytes, part: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidRequest("VALIDATION_FAILED", f"part '{part}' is not valid UTF-8 JSON: {exc}") from exc


@router.get(
    "/workflow", response_model=Page[Workflow], responses=ERRORS, summary="List workflows, newest first"
)
async def list_workflows(
    tenantId: str,
    caller: Viewer,
    request: Request,
    name: str | None = None,
    tag: str | None = None,
    ownerType: str | None = None,
    limit: Annotated[int, Query()] = 50,
    cursor: str | None = None,
) -> Page[Workflow]:
    check_limit(limit)
    after = decode_cursor(cursor)
    items: list[dict[str, Any]] = []
    # Tags live in a JSON list, so the tag filter runs here over bounded pages.
    async with _engine(request).db.read() as conn:
        while len(items) < limit:
            rows = await store.list_workflows(
                conn, tenantId, limit=limit + 1, after=after, name=name, owner_type=ownerType
            )
            items += [row for row in rows if tag is None or tag in row["tags"]]
            if len(rows) <= limit:
                break
            after = (rows[-1]["created_at"], rows[-1]["id"])
    page, more = items[:limit], len(items) > limit
    next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more and page else None
    return Page[Workflow](items=[workflow_response(row) for row in page], nextCursor=next_cursor)


@router.get("/workflow/{workflowId}", response_model=Workflow, responses=ERRORS, summary="Read a workflow")
async def get_workflow(tenantId: str, workflowId: str, caller: Viewer, request: Request) -> Workflow:
    return workflow_response(await _get(_engine(request), tenantId, workflowId))


@router.post(
    "/workflow/{workflowId}", response_model=Workflow, responses=ERRORS, summary="Replace a workflow design"
)
async def replace_workflow(
    tenantId: str,
    workflowId: str,
    caller: Designer,
    request: Request,
    body: dict[str, Any],
) -> Workflow:
    engine = _engine(request)
    design = _parse(body)
    async with engine.db.write() as conn:
        existing = await store.get_workflow(conn, tenantId, workflowId)
        if existing is None:
            raise NotFound("WORKFLOW_NOT_FOUND", f"workflow '{workflowId}' not found in tenant '{tenantId}'")
        if existing["read_only"]:
            raise Conflict(
                "WORKFLOW_READ_ONLY", f"workflow '{workflowId}' is read-only and cannot be replaced"
            )
        row = _row(_engine(request).sealer, tenantId, caller, design, workflowId, now_ms())
        row["design"]["attachments"] = {
            **existing["design"].get("attachments", {}),
            **row["design"].get("attachments", {}),
        }
        values = {k: v for k, v in row.items() if k not in ("tenant_id", "id", "created_at", "creation_user")}
        await store.replace_workflow(conn, tenantId, workflowId, values)
        row.update(created_at=existing["created_at"], creation_user=existing["creation_user"])
    return workflow_response(row)


@router.delete("/workflow/{workflowId}", status_code=204, responses=ERRORS, summary="Delete a workflow")
async def delete_workflow(tenantId: str, workflowId: str, caller: Designer, request: Request) -> Response:
    engine = _engine(request)
    async with engine.db.write() as conn:
        if not await store.delete_workflow(conn, tenantId, workflowId):
            raise NotFound("WORKFLOW_NOT_FOUND", f"workflow '{workflowId}' not found in tenant '{tenantId}'")
        keys = await attachment_store.delete_attachments_of(conn, tenantId, "workflow", workflowId)
    engine.blobs.delete_many(keys)
    return Response(status_code=204)


@router.get(
    "/workflow/{workflowId}/attachment/{name:path}",
    responses=ERRORS,
    summary="Download a workflow attachment",
)
async def download_workflow_attachment(
    tenantId: str,
    workflowId: str,
    name: str,
    caller: Viewer,
    request: Request,
) -> StreamingResponse:
    return await attachment_download(_engine(request), tenantId, "workflow", workflowId, name)
