"""Creating an execution: validate, freeze the design, store everything in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from stepline.design.assignments import check_assignments, secret_names
from stepline.design.problems import Problem, json_pointer
from stepline.design.validate import validate_design
from stepline.store import attachments as attachment_store
from stepline.store import executions as store
from stepline.store import logs as log_store
from stepline.store import workflows as workflow_store
from stepline.store.ids import new_id, now_ms
from stepline.store.notify import notify_work
from stepline.wire.common import parse_time
from stepline.wire.execution import ExecutionStatus, WorkflowExecutionCreateRequest
from stepline.wire.values import file_name_problem, json_problem, shown_text
from stepline.wire.workflow import AttachmentRef, WorkflowBody

from .deps import Engine
from .errors import ErrorItem, InvalidRequest, NotFound
from .sealing import seal_design, seal_names
from .transitions import new_step_row

logger = logging.getLogger("stepline.api")

DAY_MS = 86_400_000
# An Idempotency-Key returns the earlier execution for this long.
IDEMPOTENCY_MS = DAY_MS


@dataclass(frozen=True)
class Upload:
    """A named file in the blob store: received with a request, or shared with a workflow attachment."""

    name: str
    blob_key: str
    size: int
    sha256: str
    content_type: str


def upload_rows(
    uploads: list[Upload],
    tenant_id: str,
    owner_kind: str,
    owner_id: str,
    now: int,
    *,
    reference: bool = False,
) -> list[dict[str, Any]]:
    """Return the attachment rows of files in the blob store for one workflow or execution.

    `reference` marks rows that share the blob of a workflow attachment.
    """
    return [
        {
            "id": new_id("att"),
            "tenant_id": tenant_id,
            "owner_kind": owner_kind,
            "owner_id": owner_id,
            "name": upload.name,
            "blob_key": upload.blob_key,
            "size": upload.size,
            "content_type": upload.content_type,
            "sha256": upload.sha256,
            "created_at": now,
            "reference": reference,
        }
        for upload in uploads
    ]


def invalid(problems: list[Problem], prefix: str = "") -> InvalidRequest:
    items = [ErrorItem(p.code, f"{prefix}{p.pointer}: {p.message}") for p in problems]
    return InvalidRequest.many(items)  # type: ignore[return-value]


async def load_design(
    engine: Engine, tenant_id: str, workflow_id: str
) -> tuple[dict[str, Any], WorkflowBody]:
    async with engine.db.read() as conn:
        row = await workflow_store.get_workflow(conn, tenant_id, workflow_id)
    if row is None:
        raise NotFound(
            "WORKFLOW_NOT_FOUND",
            f"workflow '{workflow_id}' not found in tenant '{tenant_id}'; list workflows with "
            "GET .../workflow to find its id",
        )
    workflow = WorkflowBody.model_validate(engine.sealer.open(row["design"]))
    problems = validate_design(workflow)
    if problems:
        raise invalid(problems, prefix=f"workflow '{workflow_id}' ")
    return row, workflow


def _retained_til(request: WorkflowExecutionCreateRequest, now: int, retention_days: int) -> int:
    if request.retainedTil is None:
        return now + retention_days * DAY_MS
    try:
        value = parse_time(request.retainedTil)
    except ValueError as exc:
        raise InvalidRequest("VALIDATION_FAILED", f"/retainedTil: {exc}") from exc
    if value <= now:
        raise InvalidRequest(
            "VALIDATION_FAILED",
            f"/retainedTil: {request.retainedTil} is in the past; give a future time or omit it "
            f"for the default of {retention_days} days",
        )
    return value


def _check_debug_steps(request: WorkflowExecutionCreateRequest, workflow: WorkflowBody) -> None:
    problems = [
        Problem(f"/debugStepIds/{index}", f"step '{step_id}' is not a step of the workflow")
        for index, step_id in enumerate(request.debugStepIds)
        if step_id not in workflow.steps
    ]
    if problems:
        raise invalid(problems)


def _check_references(request: WorkflowExecutionCreateRequest, uploaded: set[str], max_files: int) -> None:
    """Check the shape of `attachments`: each entry refers to a workflow attachment by id.

    Whether each id is an attachment of the workflow is checked in the transaction that
    stores the execution.
    """
    count = len(request.attachments) + len(uploaded)
    if request.attachments and count > max_files:
        raise InvalidRequest(
            "VALIDATION_FAILED",
            f"/attachments: {len(request.attachments)} references and {len(uploaded)} uploaded files "
            f"make {count} attachments, more than the limit of {max_files}; send fewer",
        )
    problems = []
    for name, entry in request.attachments.items():
        pointer = json_pointer("attachments", name)
        name_problem = file_name_problem(name)
        id_problem = json_problem(entry.id)
        if name_problem:
            message = f"the attachment name {shown_text(name)} {name_problem}; rename it"
            problems.append(Problem(pointer, message))
        elif name in uploaded:
            message = f"{shown_text(name)} is also the name of an uploaded file; rename one of them"
            problems.append(Problem(pointer, message))
        elif id_problem:
            problems.append(
                Problem(f"{pointer}/id", f"the id {id_problem}; give the id of a workflow attachment")
            )
        elif not entry.reference:
            problems.append(
                Problem(
                    f"{pointer}/reference",
                    "must be true: an entry here refers to an attachment of the workflow by id; "
                    "upload a new file as a multipart part named 'files'",
                )
            )
    if problems:
        raise invalid(problems)


async def _referenced_rows(
    conn: AsyncConnection, row: dict[str, Any], references: dict[str, AttachmentRef], now: int
) -> list[dict[str, Any]]:
    """Return the execution's attachment rows that share the blobs of workflow attachments.

    Raises InvalidRequest, inside the caller's transaction, for an id that is not an
    attachment of the execution's workflow.
    """
    if not references:
        return []
    ids = sorted({entry.id for entry in references.values()})
    found = await attachment_store.lock_workflow_attachments(conn, row["tenant_id"], row["workflow_id"], ids)
    problems = [
        Problem(
            json_pointer("attachments", name, "id"),
            f"{shown_text(entry.id)} is not the id of a file stored with workflow '{row['workflow_id']}'; "
            "give the id of a file uploaded with the workflow's multipart create",
        )
        for name, entry in references.items()
        if entry.id not in found
    ]
    if problems:
        raise invalid(problems)
    shared = []
    for name, entry in references.items():
        source = found[entry.id]
        shared.append(
            Upload(name, source["blob_key"], source["size"], source["sha256"], source["content_type"])
        )
    return upload_rows(shared, row["tenant_id"], "execution", row["id"], now, reference=True)


def _context_variables(request: WorkflowExecutionCreateRequest) -> dict[str, Any]:
    return {key: request.context[key] for key in ("vnfId", "nsId") if key in request.context}


async def create_execution(
    engine: Engine,
    tenant_id: str,
    user: str,
    request: WorkflowExecutionCreateRequest,
    uploads: list[Upload],
    idempotency_key: str | None = None,
    retention_days: int | None = None,
    max_files: int | None = None,
) -> tuple[str, bool]:
    """Validate and store a new execution; return its id and whether it is new.

    With an idempotency key seen before, returns the earlier execution and False; the
    caller then deletes the blobs of `uploads`.
    """
    if idempotency_key:
        existing = await _find_existing(engine, tenant_id, idempotency_key)
        if existing:
            return existing, False
    for field, value in (("context", request.context), ("assignments", request.assignments)):
        problem = json_problem(value)
        if problem:
            raise InvalidRequest("VALIDATION_FAILED", f"/{field}: the value {problem}")
    workflow_row, workflow = await load_design(engine, tenant_id, request.workflowId)
    uploaded = {upload.name for upload in uploads}
    _check_references(request, uploaded, max_files or engine.settings.max_files)
    _check_debug_steps(request, workflow)
    assignments, problems = check_assignments(
        workflow, request.assignments, uploaded | set(request.attachments)
    )
    if problems:
        raise invalid(problems)
    assignments = seal_names(engine.sealer, assignments, secret_names(workflow))
    now = now_ms()
    retained_til = _retained_til(request, now, retention_days or engine.settings.retention_days)
    row = _execution_row(
        engine, tenant_id, user, request, workflow_row, workflow, assignments, now, retained_til
    )
    row["idempotency_key"] = idempotency_key
    try:
        await _insert(engine, row, uploads, request.attachments, now)
    except IntegrityError:
        if idempotency_key:
            existing = await _find_existing(engine, tenant_id, idempotency_key)
            if existing:
                return existing, False
        raise
    return row["id"], True


async def _find_existing(engine: Engine, tenant_id: str, key: str) -> str | None:
    async with engine.db.read() as conn:
        return await store.find_by_idempotency_key(conn, tenant_id, key, now_ms() - IDEMPOTENCY_MS)


def _execution_row(
    engine: Engine,
    tenant_id: str,
    user: str,
    request: WorkflowExecutionCreateRequest,
    workflow_row: dict[str, Any],
    workflow: WorkflowBody,
    assignments: dict[str, Any],
    now: int,
    retained_til: int,
) -> dict[str, Any]:
    sealer = engine.sealer
    variables = {
        name: sealer.seal(parameter.defaultValue) if parameter.type == "password" else parameter.defaultValue
        for name, parameter in workflow.variables.items()
        if parameter.defaultValue is not None
    }
    variables.update(_context_variables(request))
    return {
        "tenant_id": tenant_id,
        "id": new_id("ex"),
        "workflow_id": workflow_row["id"],
        "workflow_ref": {
            "id": workflow_row["id"],
            "createdAt": workflow_row["created_at"],
            "creationUser": workflow_row["creation_user"],
            "creationTenantId": workflow_row["tenant_id"],
        },
        "snapshot": seal_design(workflow.model_dump(mode="json", exclude_none=True), sealer),
        "status": ExecutionStatus.QUEUED.value,
        "context_type": request.contextType,
        "context": request.context,
        "assignments": assignments,
        "variables": variables,
        "outputs": {},
        "pause_at_failure": request.pauseAtFailure,
        "debug_step_ids": request.debugStepIds,
        "current_step_id": workflow.startStepId,
        "current_seq": None,
        "step_count": 0,
        "aborted": False,
        "abort_requested": False,
        "creation_user": user,
        "creation_time": now,
        "end_time": None,
        "retained_til": retained_til,
        "version": 1,
        "next_run_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
    }


async def _insert(
    engine: Engine,
    row: dict[str, Any],
    uploads: list[Upload],
    references: dict[str, AttachmentRef],
    now: int,
) -> None:
    logs = [_log(row, now, "INFO", "execution queued")]
    first_step = None
    if row["current_step_id"] is None:
        row.update(status=ExecutionStatus.COMPLETED.value, end_time=now, next_run_at=None)
        logs.append(_log(row, now, "INFO", "execution completed: the workflow has no steps"))
    else:
        first_step, status = new_step_row(
            row, 0, row["current_step_id"], row["snapshot"]["steps"][row["current_step_id"]]
        )
        row.update(current_seq=0, step_count=1)
        if status is ExecutionStatus.PAUSED:
            row.update(status=status.value, next_run_at=None)
            logs.append(_log(row, now, "INFO", f"paused before step '{row['current_step_id']}'"))
    attachment_rows = upload_rows(uploads, row["tenant_id"], "execution", row["id"], now)
    async with engine.db.write() as conn:
        if row["idempotency_key"]:
            await store.expire_idempotency_key(
                conn, row["tenant_id"], row["idempotency_key"], now - IDEMPOTENCY_MS
            )
        referenced = await _referenced_rows(conn, row, references, now)
        await store.insert_execution(conn, row)
        await attachment_store.insert_attachments(conn, attachment_rows + referenced)
        if first_step is not None:
            await store.insert_step_execution(conn, first_step)
        await log_store.insert_logs(conn, logs)
        await notify_work(conn)
    logger.info(
        "execution_created tenant=%s id=%s workflow=%s", row["tenant_id"], row["id"], row["workflow_id"]
    )


def _log(row: dict[str, Any], now: int, level: str, msg: str) -> dict[str, Any]:
    return {
        "tenant_id": row["tenant_id"],
        "execution_id": row["id"],
        "step_seq": None,
        "time": now,
        "level": level,
        "msg": msg,
    }
