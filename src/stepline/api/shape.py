"""Stored rows turned into the TCA response shapes."""

from __future__ import annotations

from typing import Any

from stepline.design.assignments import secret_names
from stepline.engine.masking import MASK
from stepline.engine.sealing import mask_sealed
from stepline.store import attachments as attachment_store
from stepline.store import executions as store
from stepline.store import logs as log_store
from stepline.store.db import Database
from stepline.wire.common import format_time
from stepline.wire.execution import LogEntry, StepExecution, WorkflowExecution
from stepline.wire.workflow import Workflow, WorkflowBody

BASE_PATH = "/tca/workflows/api/v1/orgs"


def workflow_response(row: dict[str, Any]) -> Workflow:
    design = mask_sealed(row["design"])
    return Workflow(
        **design,
        id=row["id"],
        createdAt=format_time(row["created_at"]) or "",
        creationUser=row["creation_user"],
        creationTenantId=row["tenant_id"],
        updatedAt=format_time(row["updated_at"]) or "",
    )


def _mask_names(values: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {key: (MASK if key in names and value is not None else value) for key, value in values.items()}


def _log(entry: dict[str, Any]) -> LogEntry:
    return LogEntry(msg=entry["msg"], time=format_time(entry["time"]) or "", level=entry["level"])


def _step(row: dict[str, Any], logs: list[LogEntry], truncated: bool) -> StepExecution:
    return StepExecution(
        id=str(row["seq"]),
        stepSnapshot=mask_sealed(row["snapshot"]),
        state=row["state"],
        startTime=format_time(row["start_time"]),
        endTime=format_time(row["end_time"]),
        aborted=row["aborted"],
        inputs=row["inputs"],
        outputs=row["outputs"],
        logs=logs,
        result=row["result"],
        error=row["error"],
        attempt=row["attempt"],
        logsTruncated=True if truncated else None,
    )


def execution_response(
    row: dict[str, Any],
    steps: list[dict[str, Any]],
    logs: list[dict[str, Any]],
    truncated: set[int | None],
    attachments: list[dict[str, Any]],
) -> WorkflowExecution:
    secrets = secret_names(WorkflowBody.model_validate(mask_sealed(row["snapshot"])))
    by_step: dict[int | None, list[LogEntry]] = {}
    for entry in logs:
        by_step.setdefault(entry["step_seq"], []).append(_log(entry))
    ref = row["workflow_ref"]
    return WorkflowExecution(
        id=row["id"],
        status=row["status"],
        pauseAtFailure=row["pause_at_failure"],
        retainedTil=format_time(row["retained_til"]) or "",
        debugStepIds=row["debug_step_ids"],
        contextType=row["context_type"],
        context=row["context"],
        workflow={
            "id": ref["id"],
            "createdAt": format_time(ref["createdAt"]) or "",
            "creationUser": ref["creationUser"],
            "creationTenantId": ref["creationTenantId"],
        },
        creationTime=format_time(row["creation_time"]) or "",
        aborted=row["aborted"],
        endTime=format_time(row["end_time"]),
        creationUser=row["creation_user"],
        currentStepId=row["current_step_id"],
        assignments=mask_sealed(_mask_names(row["assignments"], secrets)),
        attachments={a["name"]: {"id": a["id"], "reference": bool(a["reference"])} for a in attachments},
        variables=mask_sealed(_mask_names(row["variables"], secrets)),
        outputs=mask_sealed(row["outputs"]),
        stepExecutions=[_step(s, by_step.get(s["seq"], []), s["seq"] in truncated) for s in steps],
        logs=by_step.get(None, []),
        links={"self": {"href": f"{BASE_PATH}/{row['tenant_id']}/workflowExecution/{row['id']}"}},
        logsTruncated=True if None in truncated else None,
    )


async def load_execution(db: Database, tenant_id: str, execution_id: str) -> WorkflowExecution | None:
    """Read an execution with its steps, recent logs and attachments in one transaction."""
    loaded = await load_execution_revision(db, tenant_id, execution_id)
    return loaded[0] if loaded else None


async def load_execution_revision(
    db: Database, tenant_id: str, execution_id: str
) -> tuple[WorkflowExecution, int] | None:
    """Read an execution as `load_execution` does, with the row's version from the same read.

    Every change of the execution or of its step executions raises the version, so of two
    reads the one with the higher version is the newer.
    """
    async with db.read() as conn:
        row = await store.get_execution(conn, tenant_id, execution_id)
        if row is None:
            return None
        steps = await store.list_step_executions(conn, tenant_id, [execution_id])
        logs, truncated = await log_store.recent_logs(conn, tenant_id, execution_id)
        attachments = await attachment_store.list_attachments(conn, tenant_id, "execution", execution_id)
    return execution_response(row, steps, logs, truncated, attachments), int(row["version"])
