"""Workflow pages: the list with search and tags, the design page, and the upload of a design."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from stepline.api import workflows as api_workflows
from stepline.api.multipart import MultipartReader, boundary_of
from stepline.api.uploads import upload_limits
from stepline.design import DesignError, parse_design
from stepline.wire.workflow import Workflow

from .design_view import annotate
from .graph import design_elements
from .responses import UIRoute, is_htmx, redirect, render
from .session import DesignerSession, Session, ViewerSession, engine_of
from .views import mask_design

logger = logging.getLogger("stepline.ui")
router = APIRouter(prefix="/ui/orgs/{tenantId}", route_class=UIRoute, include_in_schema=False)

PAGE_SIZE = 50
# A search reads at most this many pages of the API's list before it shows what it found.
MAX_SEARCH_PAGES = 20


def _matches(workflow: Workflow, words: list[str]) -> bool:
    haystack = " ".join(
        [workflow.name, workflow.description or "", workflow.id, " ".join(workflow.hierarchy)]
        + [str(tag.get("name", "")) for tag in workflow.tags]
    ).lower()
    return all(word in haystack for word in words)


async def _search(
    request: Request, session: Session, query: str, tag: str, cursor: str | None
) -> tuple[list[Workflow], str | None]:
    """Return workflows whose name, description, id, folder or tags contain every word of `query`.

    The API's list filters by exact tag only, so the words are matched here over pages of
    the list, newest first, until a page's worth is found or MAX_SEARCH_PAGES are read.
    """
    words = query.lower().split()
    found: list[Workflow] = []
    for _ in range(MAX_SEARCH_PAGES):
        page = await api_workflows.list_workflows(
            tenantId=session.tenant_id,
            caller=session.principal,
            request=request,
            name=None,
            tag=tag or None,
            ownerType=None,
            limit=PAGE_SIZE,
            cursor=cursor,
        )
        found += [item for item in page.items if _matches(item, words)]
        cursor = page.nextCursor
        if cursor is None or len(found) >= PAGE_SIZE:
            break
    return found, cursor


@router.get("/workflows")
async def workflows_page(
    request: Request, session: ViewerSession, q: str = "", tag: str = "", cursor: str = ""
) -> Response:
    items, next_cursor = await _search(request, session, q.strip(), tag.strip(), cursor or None)
    context = {
        "session": session,
        "nav": "workflows",
        "workflows": items,
        "query": q,
        "tag": tag,
        "next_cursor": next_cursor,
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "workflow-results":
        return render(request, "_workflow_rows.html", context)
    return render(request, "workflows.html", context)


@router.get("/workflows/new")
async def upload_page(request: Request, session: DesignerSession) -> Response:
    return render(request, "upload.html", {"session": session, "nav": "upload"})


def _upload_problem(request: Request, message: str) -> Response:
    return render(request, "_upload_result.html", {"message": message, "lines": []}, status_code=422)


@router.post("/workflows/new")
async def upload_design(request: Request, session: DesignerSession) -> Response:
    """Store a design sent as the multipart part `workflow`; show its problems next to its lines."""
    engine = engine_of(request)
    reader = MultipartReader(
        boundary_of(request.headers.get("content-type")),
        engine.blobs,
        upload_limits(request),
        json_names=("workflow",),
    )
    try:
        result = await reader.read(request.stream())
    finally:
        # Only the JSON part is read; any file part this request wrote is not kept.
        reader.discard()
    data = result.json_parts.get("workflow")
    if not data:
        return _upload_problem(request, "Choose a design file (JSON) to upload.")
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return _upload_problem(request, f"The file is not UTF-8 text: {exc}.")
    except json.JSONDecodeError as exc:
        return _upload_problem(
            request, f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        )
    try:
        parse_design(document)
    except DesignError as exc:
        masked = mask_design(document) if isinstance(document, dict) else document
        context = {
            "message": f"The design has {len(exc.problems)} problem(s); each is shown under its line.",
            "lines": annotate(masked, exc.problems),
            "problems": exc.problems,
        }
        return render(request, "_upload_result.html", context, status_code=422)
    workflow = await api_workflows.create_workflow(session.tenant_id, session.principal, request, document)
    logger.info("ui_workflow_uploaded tenant=%s id=%s", session.tenant_id, workflow.id)
    return redirect(request, f"/ui/orgs/{session.tenant_id}/workflows/{workflow.id}")


def steps_table(design: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one row per step: id, type, description, next step and conditions, for the text view."""
    rows = []
    for step_id, step in (design.get("steps") or {}).items():
        rows.append(
            {
                "id": step_id,
                "type": step.get("type", ""),
                "description": step.get("description") or "",
                "next": step.get("nextStepId") or "",
                "conditions": step.get("conditions") or [],
                "is_start": step_id == design.get("startStepId"),
            }
        )
    return rows


async def workflow_context(
    request: Request, session: Session, workflow_id: str, graph_mode: str
) -> dict[str, Any]:
    """Return what a workflow's pages show: the workflow, its masked design, its steps and graph."""
    workflow = await api_workflows.get_workflow(session.tenant_id, workflow_id, session.principal, request)
    design = mask_design(workflow.model_dump(mode="json"))
    return {
        "session": session,
        "nav": "workflows",
        "workflow": workflow,
        "design": design,
        "steps": steps_table(design),
        "graph": {"elements": design_elements(design), "mode": graph_mode},
    }


@router.get("/workflows/{workflowId}")
async def design_page(request: Request, session: ViewerSession, workflowId: str) -> Response:
    return render(request, "workflow.html", await workflow_context(request, session, workflowId, "design"))


@router.get("/workflows/{workflowId}/attachments/{name:path}")
async def workflow_attachment(
    request: Request, session: ViewerSession, workflowId: str, name: str
) -> StreamingResponse:
    return await api_workflows.download_workflow_attachment(
        session.tenant_id, workflowId, name, session.principal, request
    )
