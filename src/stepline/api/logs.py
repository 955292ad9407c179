"""The logs endpoint: every entry of an execution, streamed as NDJSON, text or server-sent events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from stepline.engine.deps import Engine
from stepline.engine.errors import InvalidRequest, NotFound
from stepline.store import executions as store
from stepline.store import logs as log_store
from stepline.wire.common import format_time
from stepline.wire.execution import ENDED_STATUSES, ExecutionStatus

from .auth import Viewer
from .workflows import ERRORS

router = APIRouter(prefix="/tca/workflows/api/v1/orgs/{tenantId}/workflowExecution", tags=["executions"])

BATCH = 500
FOLLOW_POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    entry = {"msg": row["msg"], "time": format_time(row["time"]), "level": row["level"]}
    if row["step_seq"] is not None:
        entry["stepExecutionId"] = str(row["step_seq"])
    return entry


def _text_line(row: dict[str, Any]) -> str:
    where = f"step {row['step_seq']}" if row["step_seq"] is not None else "execution"
    return f"{format_time(row['time'])} {row['level']:<5} [{where}] {row['msg']}\n"


async def _batches(
    engine: Engine, tenant_id: str, execution_id: str, step_seq: int | None, after_id: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield entries after `after_id` in batches, one short read transaction per batch."""
    while True:
        async with engine.db.read() as conn:
            rows = [
                row
                async for row in log_store.stream_logs(
                    conn,
                    tenant_id,
                    execution_id,
                    step_seq=step_seq,
                    after_id=after_id,
                    batch=BATCH,
                    once=True,
                )
            ]
        if not rows:
            return
        yield rows
        after_id = rows[-1]["id"]
        if len(rows) < BATCH:
            return


async def _status(engine: Engine, tenant_id: str, execution_id: str) -> str | None:
    async with engine.db.read() as conn:
        row = await store.get_execution(conn, tenant_id, execution_id)
    return None if row is None else str(row["status"])


def _step_seq(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidRequest(
            "VALIDATION_FAILED", f"stepExecutionId: {value!r} is not a step execution id (0, 1, ...)"
        )
    return int(value)


@router.get(
    "/{executionId}/logs",
    responses={
        **ERRORS,
        200: {
            "description": "NDJSON (default), plain text, or server-sent events with follow=true",
            "content": {"application/x-ndjson": {}, "text/plain": {}, "text/event-stream": {}},
        },
    },
    summary="Stream all log entries of an execution",
)
async def execution_logs(
    tenantId: str,
    executionId: str,
    caller: Viewer,
    request: Request,
    stepExecutionId: str | None = None,
    follow: bool = False,
    format: Annotated[Literal["ndjson", "text"] | None, Query()] = None,
) -> StreamingResponse:
    engine: Engine = request.app.state.engine
    step_seq = _step_seq(stepExecutionId)
    if await _status(engine, tenantId, executionId) is None:
        raise NotFound("EXECUTION_NOT_FOUND", f"execution '{executionId}' not found in tenant '{tenantId}'")
    if follow:
        return StreamingResponse(
            _follow(engine, request, tenantId, executionId, step_seq),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    as_text = format == "text" or (format is None and "text/plain" in request.headers.get("accept", ""))

    async def body() -> AsyncIterator[bytes]:
        async for rows in _batches(engine, tenantId, executionId, step_seq, 0):
            if as_text:
                yield "".join(_text_line(row) for row in rows).encode()
            else:
                yield "".join(json.dumps(_entry(row), ensure_ascii=False) + "\n" for row in rows).encode()

    media = "text/plain; charset=utf-8" if as_text else "application/x-ndjson"
    return StreamingResponse(body(), media_type=media)


async def _follow(
    engine: Engine, request: Request, tenant_id: str, execution_id: str, step_seq: int | None
) -> AsyncIterator[bytes]:
    """Send entries as they are written, until the execution ends and every entry is sent.

    A client that reconnects with `Last-Event-ID` gets the entries after that id. An idle
    stream carries a comment line every KEEPALIVE_SECONDS, so clients can tell it is alive.
    """
    last_event = request.headers.get("last-event-id", "")
    after_id = int(last_event) if last_event.isdigit() else 0
    idle_since = time.monotonic()
    while not await request.is_disconnected():
        status = await _status(engine, tenant_id, execution_id)
        async for rows in _batches(engine, tenant_id, execution_id, step_seq, after_id):
            for row in rows:
                data = json.dumps(_entry(row), ensure_ascii=False)
                yield f"id: {row['id']}\nevent: log\ndata: {data}\n\n".encode()
            after_id = rows[-1]["id"]
            idle_since = time.monotonic()
        if status is None or ExecutionStatus(status) in ENDED_STATUSES:
            yield f"event: end\ndata: {json.dumps({'status': status})}\n\n".encode()
            return
        if time.monotonic() - idle_since >= KEEPALIVE_SECONDS:
            yield b": keep-alive\n\n"
            idle_since = time.monotonic()
        await asyncio.sleep(FOLLOW_POLL_SECONDS)
