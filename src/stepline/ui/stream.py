"""Server-sent events of the execution page, and the log download.

`/events` sends the execution's state (status, the state of each step, breakpoints)
whenever it changes, and `end` once the execution has ended. `/log` and `/log.txt` are
the API's logs endpoint (follow mode, and plain text) behind the UI's cookie session.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from stepline.api import logs as api_logs
from stepline.api.shape import load_execution, load_execution_revision
from stepline.engine.errors import NotFound

from .graph import graph_state
from .responses import UIRoute
from .session import ViewerSession, engine_of
from .views import is_ended

router = APIRouter(
    prefix="/ui/orgs/{tenantId}/executions/{executionId}", route_class=UIRoute, include_in_schema=False
)

POLL_SECONDS = 0.5
# A comment line this often keeps proxies from closing a quiet stream.
KEEP_ALIVE_SECONDS = 15.0
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _event(name: str, data: object) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, sort_keys=True)}\n\n".encode()


async def _state_events(request: Request, tenant_id: str, execution_id: str) -> AsyncIterator[bytes]:
    db = engine_of(request).db
    last = None
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        loaded = await load_execution_revision(db, tenant_id, execution_id)
        if loaded is None:
            yield _event("end", {"status": None})
            return
        execution, revision = loaded
        state = graph_state(execution, revision)
        if state != last:
            yield _event("state", state)
            last = state
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEP_ALIVE_SECONDS:
            yield b": keep-alive\n\n"
            quiet_since = time.monotonic()
        if is_ended(execution.status):
            yield _event("end", {"status": execution.status.value})
            return
        await asyncio.sleep(POLL_SECONDS)


@router.get("/events")
async def execution_events(request: Request, session: ViewerSession, executionId: str) -> StreamingResponse:
    if await load_execution(engine_of(request).db, session.tenant_id, executionId) is None:
        raise NotFound(
            "EXECUTION_NOT_FOUND", f"execution '{executionId}' not found in tenant '{session.tenant_id}'"
        )
    return StreamingResponse(
        _state_events(request, session.tenant_id, executionId),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


@router.get("/log")
async def follow_log(request: Request, session: ViewerSession, executionId: str) -> StreamingResponse:
    """Stream every log entry as a server-sent event `log`, then `end` once the execution has ended."""
    return await api_logs.execution_logs(
        session.tenant_id, executionId, session.principal, request, None, follow=True, format=None
    )


@router.get("/log.txt")
async def download_log(
    request: Request, session: ViewerSession, executionId: str, stepExecutionId: str | None = None
) -> StreamingResponse:
    """Send the whole log as plain text, as a file download."""
    response = await api_logs.execution_logs(
        session.tenant_id,
        executionId,
        session.principal,
        request,
        stepExecutionId,
        follow=False,
        format="text",
    )
    suffix = f"-step-{stepExecutionId}" if stepExecutionId else ""
    response.headers["Content-Disposition"] = f'attachment; filename="{executionId}{suffix}-log.txt"'
    return response
