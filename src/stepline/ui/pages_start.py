"""The start-execution form, generated from a design's inputs, and its multipart create.

The page script sends the API's multipart shape with one change: the JSON part is named
`startForm` and contains the form's texts (see `StartForm`). Its `files` parts are the
API's. The server reads the body with the API's multipart reader, types the texts with
the design's `coerce` and creates the execution with the API's `create_execution`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field, ValidationError

from stepline.api.errors import validation_items
from stepline.api.multipart import MultipartReader, boundary_of
from stepline.api.uploads import upload_limits
from stepline.design import Problem, check_assignments
from stepline.engine.create import create_execution, load_design
from stepline.engine.errors import ErrorItem, InvalidRequest
from stepline.wire.common import StrictModel
from stepline.wire.execution import ContextType, WorkflowExecutionCreateRequest

from .forms import parameter_fields, typed_values
from .pages_workflows import workflow_context
from .responses import SECURITY_HEADERS, UIRoute, render
from .session import OperatorSession, engine_of

logger = logging.getLogger("stepline.ui")
router = APIRouter(prefix="/ui/orgs/{tenantId}", route_class=UIRoute, include_in_schema=False)

CONTEXT_TYPES = ["NONE", "VNF", "CNF", "NS"]


class StartForm(StrictModel):
    """The start form as the page sends it: field texts, typed on the server."""

    contextType: ContextType = "NONE"
    # A JSON object as text, e.g. {"vnfId": "..."}; blank for none.
    context: str = ""
    assignments: dict[str, str] = Field(default_factory=dict)
    pauseAtFailure: bool = False
    debugStepIds: list[str] = Field(default_factory=list)


def _problems_response(problems: list[Problem]) -> Response:
    errors = [{"pointer": problem.pointer, "message": problem.message} for problem in problems]
    return JSONResponse({"errors": errors}, status_code=422, headers=SECURITY_HEADERS)


@router.get("/workflows/{workflowId}/start")
async def start_page(request: Request, session: OperatorSession, workflowId: str) -> Response:
    context = await workflow_context(request, session, workflowId, "breakpoints")
    context["fields"] = parameter_fields(context["design"].get("inputs") or {})
    context["context_types"] = CONTEXT_TYPES
    return render(request, "start.html", context)


def _parse_form(data: bytes | None) -> StartForm:
    if data is None:
        raise InvalidRequest("VALIDATION_FAILED", "missing multipart part 'startForm'; reload the page")
    try:
        return StartForm.model_validate_json(data)
    except ValidationError as exc:
        items = validation_items(list(exc.errors()))
        raise InvalidRequest.many([ErrorItem(code, message) for code, message in items]) from exc


def _context(text: str) -> tuple[dict[str, Any], list[Problem]]:
    if not text.strip():
        return {}, []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, [Problem("/context", f"invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")]
    if not isinstance(value, dict):
        return {}, [Problem("/context", 'expected a JSON object such as {"vnfId": "..."}')]
    return value, []


@router.post("/workflows/{workflowId}/start")
async def start_execution(request: Request, session: OperatorSession, workflowId: str) -> Response:
    """Create an execution; return {"location"}, or 422 with problems located by JSON pointers."""
    engine = engine_of(request)
    reader = MultipartReader(
        boundary_of(request.headers.get("content-type")),
        engine.blobs,
        upload_limits(request),
        json_names=("startForm",),
    )
    created = False
    try:
        result = await reader.read(request.stream())
        form = _parse_form(result.json_parts.get("startForm"))
        _, workflow = await load_design(engine, session.tenant_id, workflowId)
        inputs = {name: parameter.model_dump() for name, parameter in workflow.inputs.items()}
        assignments, problems = typed_values(form.assignments, inputs, "assignments")
        context, context_problems = _context(form.context)
        problems += context_problems
        # The create checks these too; checking first gives problems with their pointers.
        _, assignment_problems = check_assignments(
            workflow, assignments, {upload.name for upload in result.uploads}
        )
        problems += [p for p in assignment_problems if p.pointer not in {q.pointer for q in problems}]
        if problems:
            return _problems_response(problems)
        create_request = WorkflowExecutionCreateRequest(
            workflowId=workflowId,
            contextType=form.contextType,
            context=context,
            assignments=assignments,
            pauseAtFailure=form.pauseAtFailure,
            debugStepIds=form.debugStepIds,
        )
        execution_id, created = await create_execution(
            engine,
            session.tenant_id,
            session.principal.name,
            create_request,
            result.uploads,
            retention_days=request.state.tenant.retention_days,
            max_files=request.state.tenant.max_files,
        )
    finally:
        if not created:
            reader.discard()
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()
    logger.info(
        "ui_execution_started tenant=%s id=%s workflow=%s", session.tenant_id, execution_id, workflowId
    )
    location = f"/ui/orgs/{session.tenant_id}/executions/{execution_id}"
    return JSONResponse({"location": location}, headers=SECURITY_HEADERS)

