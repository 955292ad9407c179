"""Execution pages: the list with status filters, the execution page and its live parts."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from stepline.api import executions as api_executions
from stepline.api import workflows as api_workflows
from stepline.api.shape import load_execution_revision
from stepline.engine.errors import NotFound
from stepline.wire.execution import ExecutionStatus, WorkflowExecution

from .actions import allowed_actions
from .forms import parameter_fields
from .graph import design_elements, graph_state
from .responses import UIRoute, is_htmx, render
from .session import Session, ViewerSession, engine_of
from .snapshots import execution_design

router = APIRouter(prefix="/ui/orgs/{tenantId}", route_class=UIRoute, include_in_schema=False)

PAGE_SIZE = 50
STATUSES = [status.value for status in ExecutionStatus]


async def _workflow_names(request: Request, session: Session, ids: set[str]) -> dict[str, str]:
    """Return the name of each workflow that still exists."""
    names = {}
    for workflow_id in sorted(ids):
        try:
            workflow = await api_workflows.get_workflow(
                session.tenant_id, workflow_id, session.principal, request
            )
        except NotFound:
            continue
        names[workflow_id] = workflow.name
    return names


def _query(chosen: list[str], workflow_id: str, **extra: str | None) -> str:
    values = {"status": chosen, "workflowId": workflow_id, **extra}
    return urlencode({key: value for key, value in values.items() if value}, doseq=True)


def _fingerprint(items: list[WorkflowExecution], next_cursor: str | None) -> str:
    summary = [(item.id, item.status.value, item.currentStepId, item.endTime) for item in items]
    return hashlib.sha256(json.dumps([summary, next_cursor]).encode()).hexdigest()[:16]


@router.get("/executions")
async def executions_page(
    request: Request,
    session: ViewerSession,
    status: Annotated[list[str] | None, Query()] = None,
    workflowId: str = "",
    cursor: str = "",
    fp: str = "",
) -> Response:
    """Render the list; its rows region polls this route and gets 204 while nothing changed."""
    chosen = [value for value in (status or []) if value in STATUSES]
    page = await api_executions.list_executions(
        tenantId=session.tenant_id,
        caller=session.principal,
        request=request,
        workflowId=workflowId or None,
        status=[ExecutionStatus(value) for value in chosen] or None,
        contextType=None,
        createdAfter=None,
        createdBefore=None,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    fingerprint = _fingerprint(page.items, page.nextCursor)
    rows_only = is_htmx(request) and request.headers.get("HX-Target") == "execution-rows"
    if rows_only and fp == fingerprint:
        return Response(status_code=204)
    context = {
        "session": session,
        "nav": "executions",
        "executions": page.items,
        "names": await _workflow_names(request, session, {item.workflow.id for item in page.items}),
        "statuses": STATUSES,
        "chosen": chosen,
        "workflow_id": workflowId,
        "cursor": cursor,
        "next_cursor": page.nextCursor,
        "fingerprint": fingerprint,
        "poll_query": _query(chosen, workflowId, fp=fingerprint),
        "older_query": _query(chosen, workflowId, cursor=page.nextCursor),
    }
    return render(request, "_execution_rows.html" if rows_only else "executions.html", context)


async def _execution_context(request: Request, session: Session, execution_id: str) -> dict[str, Any]:
    loaded = await load_execution_revision(engine_of(request).db, session.tenant_id, execution_id)
    if loaded is None:
        raise NotFound(
            "EXECUTION_NOT_FOUND", f"execution '{execution_id}' not found in tenant '{session.tenant_id}'"
        )
    execution, revision = loaded
    design = await execution_design(engine_of(request), session.tenant_id, execution_id)
    return {
        "session": session,
        "nav": "executions",
        "execution": execution,
        "design": design,
        "actions": allowed_actions(execution),
        "state": graph_state(execution, revision),
        "input_fields": parameter_fields(design.get("inputs") or {}, execution.assignments),
        "variable_fields": parameter_fields(design.get("variables") or {}, execution.variables),
        "step_ids": list((design.get("steps") or {}).keys()),
        "base": f"/ui/orgs/{session.tenant_id}/executions/{execution.id}",
    }


@router.get("/executions/{executionId}")
async def execution_page(request: Request, session: ViewerSession, executionId: str) -> Response:
    context = await _execution_context(request, session, executionId)
    context["graph"] = {"elements": design_elements(context["design"]), "mode": "execution"}
    return render(request, "execution.html", context)


@router.get("/executions/{executionId}/live")
async def execution_live(request: Request, session: ViewerSession, executionId: str) -> Response:
    """Render the parts of the execution page that change with every step: summary, outputs, steps."""
    context = await _execution_context(request, session, executionId)
    return render(request, "_execution_live.html", {**context, "oob": True})


@router.get("/executions/{executionId}/controls")
async def execution_controls(request: Request, session: ViewerSession, executionId: str) -> Response:
    """Render the actions and forms that depend on the status: abort, resume, retry, breakpoints."""
    context = await _execution_context(request, session, executionId)
    return render(request, "_controls.html", context)


@router.get("/executions/{executionId}/steps/{stepExecutionId}")
async def step_panel(
    request: Request, session: ViewerSession, executionId: str, stepExecutionId: str
) -> Response:
    """Inputs, outputs, error, attempts and recent log of one step execution."""
    execution = await api_executions.get_execution(
        session.tenant_id, executionId, session.principal, request
    )
    matching = [step for step in execution.stepExecutions if step.id == stepExecutionId]
    if not matching:
        raise NotFound(
            "STEP_EXECUTION_NOT_FOUND",
            f"step execution '{stepExecutionId}' not found in execution '{executionId}'",
        )
    step = matching[0]
    step_id = str(step.stepSnapshot.get("id", ""))
    context = {
        "session": session,
        "execution": execution,
        "step": step,
        "step_id": step_id,
        "runs": [other for other in execution.stepExecutions if other.stepSnapshot.get("id") == step_id],
        "base": f"/ui/orgs/{session.tenant_id}/executions/{execution.id}",
    }
    return render(request, "_step_panel.html", context)


@router.get("/executions/{executionId}/attachments/{name:path}")
async def execution_attachment(
    request: Request, session: ViewerSession, executionId: str, name: str
) -> StreamingResponse:
    return await api_executions.download_execution_attachment(
        session.tenant_id, executionId, name, session.principal, request
    )
