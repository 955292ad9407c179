"""Operator actions on an execution: abort, resume, retry with edited values, breakpoints.

Each action calls the engine's control operation, which checks the execution's status
and raises Conflict (HTTP 409) when the action does not fit it. `allowed_actions` only decides which
buttons the page shows.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from stepline.api.errors import validation_items
from stepline.engine import control
from stepline.engine.errors import ErrorItem, InvalidRequest, StepLineError
from stepline.wire.execution import (
    ENDED_STATUSES,
    ExecutionStatus,
    RetryRequest,
    StepResult,
    WorkflowExecution,
    WorkflowExecutionChange,
)

from .forms import parameter_fields, prefixed_texts, typed_values
from .responses import UIRoute, is_htmx, redirect, render
from .session import OperatorSession, Session, engine_of
from .snapshots import execution_design

logger = logging.getLogger("stepline.ui")
router = APIRouter(
    prefix="/ui/orgs/{tenantId}/executions/{executionId}", route_class=UIRoute, include_in_schema=False
)

RETRYABLE_STATUSES = (ExecutionStatus.PAUSED, ExecutionStatus.FAILED, ExecutionStatus.ABORTED)


def allowed_actions(execution: WorkflowExecution) -> set[str]:
    """Return the actions whose buttons fit the execution's status."""
    actions: set[str] = set()
    if execution.status not in ENDED_STATUSES:
        actions |= {"abort", "settings"}
    if execution.status == ExecutionStatus.PAUSED:
        actions.add("resume")
    last = execution.stepExecutions[-1] if execution.stepExecutions else None
    failed = last is not None and last.result in (StepResult.FAILURE, StepResult.ABORTED)
    if execution.status in RETRYABLE_STATUSES and failed:
        actions.add("retry")
    if execution.status in ENDED_STATUSES:
        actions.add("delete")
    return actions


def _done(request: Request, session: Session, execution_id: str, notice: str) -> Response:
    """Return the response to an action: a notice for the #flash region, or a redirect without htmx."""
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()
    if not is_htmx(request):
        return redirect(request, f"/ui/orgs/{session.tenant_id}/executions/{execution_id}")
    # The page script listens again to an execution that an action made live, then refreshes.
    headers = {"HX-Trigger": json.dumps({"execution-action": {"notice": notice}})}
    return render(request, "_flash.html", {"notices": [notice]}, headers=headers)


def _invalid(exc: ValidationError) -> StepLineError:
    items = validation_items(list(exc.errors()))
    return InvalidRequest.many([ErrorItem(code, message) for code, message in items])


@router.post("/abort")
async def abort(request: Request, session: OperatorSession, executionId: str) -> Response:
    immediate = await control.abort(engine_of(request), session.tenant_id, executionId)
    logger.info("ui_abort tenant=%s id=%s immediate=%s", session.tenant_id, executionId, immediate)
    notice = "Aborted." if immediate else "Abort requested; the running step is being stopped."
    return _done(request, session, executionId, notice)


@router.post("/delete")
async def delete(request: Request, session: OperatorSession, executionId: str) -> Response:
    """Delete an ended execution with its log and attachments, then show the list."""
    await control.delete(engine_of(request), session.tenant_id, executionId)
    logger.info("ui_delete tenant=%s id=%s", session.tenant_id, executionId)
    return redirect(request, f"/ui/orgs/{session.tenant_id}/executions")


@router.post("/resume")
async def resume(request: Request, session: OperatorSession, executionId: str) -> Response:
    await control.resume(engine_of(request), session.tenant_id, executionId, {})
    logger.info("ui_resume tenant=%s id=%s", session.tenant_id, executionId)
    return _done(request, session, executionId, "Resumed.")


@router.post("/retry")
async def retry(request: Request, session: OperatorSession, executionId: str) -> Response:
    """Retry the failed step with the values of the form; a blank field keeps the current value."""
    form: dict[str, Any] = dict((await request.form()).items())
    design = await execution_design(engine_of(request), session.tenant_id, executionId)

    inputs, problems = typed_values(prefixed_texts(form, "input."), design.get("inputs") or {}, "assignments")
    variables, variable_problems = typed_values(
        prefixed_texts(form, "var."), design.get("variables") or {}, "variables"
    )
    problems += variable_problems

    if problems:
        context = {
            "session": session,
            "base": f"/ui/orgs/{session.tenant_id}/executions/{executionId}",
            # The fields show the submitted texts again; password fields always start empty.
            "input_fields": parameter_fields(design.get("inputs") or {}, prefixed_texts(form, "input.")),
            "variable_fields": parameter_fields(design.get("variables") or {}, prefixed_texts(form, "var.")),
            "errors": {problem.pointer: problem.message for problem in problems},
        }
        headers = {"HX-Retarget": "#retry-form", "HX-Reswap": "outerHTML"}
        return render(request, "_retry_form.html", context, status_code=422, headers=headers)

    body: dict[str, Any] = {}
    if inputs:
        body["assignments"] = inputs
    if variables:
        body["variables"] = variables
    try:
        checked = RetryRequest.model_validate(body).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        raise _invalid(exc) from exc

    await control.retry(engine_of(request), session.tenant_id, executionId, checked)
    logger.info("ui_retry tenant=%s id=%s changed=%s", session.tenant_id, executionId, sorted(body))
    return _done(request, session, executionId, "Retry started.")


@router.post("/settings")
async def change_settings(request: Request, session: OperatorSession, executionId: str) -> Response:
    """Set the breakpoints (debugStepIds) and pause-at-failure of a running or paused execution."""
    form = await request.form()
    values = {
        "debugStepIds": [value for value in form.getlist("debugStepIds") if isinstance(value, str)],
        "pauseAtFailure": form.get("pauseAtFailure") == "on",
    }
    try:
        change = WorkflowExecutionChange.model_validate(values).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    await control.patch(engine_of(request), session.tenant_id, executionId, change)
    logger.info("ui_settings tenant=%s id=%s", session.tenant_id, executionId)
    return _done(request, session, executionId, "Breakpoints and pause-at-failure saved.")
