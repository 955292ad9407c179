"""Operator control of executions: abort, resume, retry, change, delete.

Each operation locks the execution row, checks its status against the rule of the
operation, and writes the change with a version check in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from stepline.design.validate import validate_design
from stepline.store import attachments as attachment_store
from stepline.store import executions as store
from stepline.store import logs as log_store
from stepline.store.ids import now_ms
from stepline.store.leases import lock_execution
from stepline.store.notify import notify_work
from stepline.wire.common import parse_time
from stepline.wire.execution import ENDED_STATUSES, StepResult
from stepline.wire.execution import ExecutionStatus as Status
from stepline.wire.execution import StepState as State
from stepline.wire.workflow import WorkflowBody

from .create import invalid
from .deps import Engine
from .errors import Conflict, InvalidRequest, NotFound
from .sealing import Sealer, seal_design
from .transitions import Decision, abort_decision, check_execution, check_step, enter_step, new_step_row
from .values import check_value_changes

logger = logging.getLogger("stepline.control")


@dataclass
class Locked:
    """The locked execution row and its current step execution."""

    row: dict[str, Any]
    step: dict[str, Any] | None


async def _lock(conn: AsyncConnection, tenant_id: str, execution_id: str) -> Locked:
    row = await lock_execution(conn, tenant_id, execution_id)
    if row is None:
        raise NotFound("EXECUTION_NOT_FOUND", f"execution '{execution_id}' not found in tenant '{tenant_id}'")
    step = None
    if row["current_seq"] is not None:
        step = await store.get_step_execution(conn, tenant_id, execution_id, row["current_seq"])
    return Locked(row, step)


async def _apply(conn: AsyncConnection, locked: Locked, decision: Decision) -> None:
    row = locked.row
    if "status" in decision.execution and decision.execution["status"] != row["status"]:
        check_execution(row["status"], decision.execution["status"])
    if decision.step and locked.step is not None:
        if decision.step.get("state", locked.step["state"]) != locked.step["state"]:
            check_step(locked.step["state"], decision.step["state"])
        await store.update_step_execution(
            conn, row["tenant_id"], row["id"], locked.step["seq"], decision.step
        )
    ok = await store.update_guarded(
        conn, row["tenant_id"], row["id"], version=row["version"], lease_owner=None, values=decision.execution
    )
    if not ok:
        raise Conflict(
            "CONCURRENT_CHANGE", "the execution changed while this request ran; repeat the request"
        )
    if decision.next_step is not None:
        await store.insert_step_execution(conn, decision.next_step)
    now = now_ms()
    await log_store.insert_logs(
        conn,
        [
            {
                "tenant_id": row["tenant_id"],
                "execution_id": row["id"],
                "step_seq": None,
                "time": now,
                "level": level,
                "msg": msg,
            }
            for level, msg in decision.logs
        ],
    )
    if decision.execution.get("next_run_at") is not None:
        await notify_work(conn)


async def _run(
    engine: Engine,
    tenant_id: str,
    execution_id: str,
    change: Callable[[AsyncConnection, Locked], Awaitable[Decision]],
) -> Decision:
    async with engine.db.write() as conn:
        locked = await _lock(conn, tenant_id, execution_id)
        decision = await change(conn, locked)
        await _apply(conn, locked, decision)
    return decision


async def _file_names(conn: AsyncConnection, row: dict[str, Any]) -> set[str]:
    rows = await attachment_store.list_attachments(conn, row["tenant_id"], "execution", row["id"])
    return {attachment["name"] for attachment in rows}


def _ended(row: dict[str, Any], action: str) -> Conflict:
    return Conflict(
        "EXECUTION_ENDED",
        f"execution '{row['id']}' is {row['status']}; {action} works only before an execution ends",
    )


# --- abort -----------------------------------------------------------------------


async def abort(engine: Engine, tenant_id: str, execution_id: str) -> bool:
    """Abort the execution; return True when it ended at once, False when a worker must stop it."""

    async def change(_conn: AsyncConnection, locked: Locked) -> Decision:
        row, now = locked.row, now_ms()
        if Status(row["status"]) in ENDED_STATUSES:
            raise _ended(row, "abort")
        if row["abort_requested"]:
            raise Conflict("ABORT_PENDING", f"execution '{execution_id}' is already being aborted")
        lease_live = row["lease_owner"] is not None and (row["lease_expires_at"] or 0) > now
        if not lease_live:
            return abort_decision(row, locked.step, now)
        # A worker runs the step: it reads the flag within a tick and stops the step. Past the
        # deadline in next_run_at, any worker may take the execution and record the abort.
        deadline = now + int(engine.settings.abort_timeout_seconds * 1000)
        return Decision(
            {}, {"abort_requested": True, "next_run_at": deadline}, logs=[("WARN", "abort requested")]
        )

    decision = await _run(engine, tenant_id, execution_id, change)
    logger.info(
        "abort_requested tenant=%s id=%s immediate=%s",
        tenant_id,
        execution_id,
        "status" in decision.execution,
    )
    return "status" in decision.execution


# --- resume ----------------------------------------------------------------------


def _paused(locked: Locked, action: str) -> dict[str, Any]:
    row, step = locked.row, locked.step
    if row["status"] != Status.PAUSED.value or step is None:
        raise Conflict(
            "EXECUTION_NOT_PAUSED",
            f"execution '{row['id']}' is {row['status']}; {action} needs a PAUSED execution",
        )
    return step


async def resume(engine: Engine, tenant_id: str, execution_id: str, values: dict[str, Any]) -> None:
    """Continue a paused execution: run the breakpoint step, or skip the failed one."""

    async def change(conn: AsyncConnection, locked: Locked) -> Decision:
        step = _paused(locked, "resume")
        row, now = locked.row, now_ms()
        updates = check_value_changes(engine.sealer, row, values, await _file_names(conn, row))
        if step["state"] == State.WAITING_BEFORE_EXECUTION.value:
            execution = {"status": Status.RUNNING.value, "next_run_at": now, **updates}
            return Decision(
                {"state": State.EXECUTABLE.value},
                execution,
                logs=[("INFO", f"resumed at step '{step['step_id']}'")],
            )
        # Paused after a failure: the step keeps its FAILURE and the flow goes on at its
        # nextStepId, without evaluating its conditions.
        next_id = step["snapshot"].get("nextStepId")
        merged = {**row, **updates}
        if next_id is None:
            decision = Decision(
                {},
                {
                    "status": Status.COMPLETED.value,
                    "current_step_id": None,
                    "end_time": now,
                    "next_run_at": None,
                    **updates,
                },
                logs=[("INFO", "execution completed after skipping the failed last step")],
            )
        else:
            decision = enter_step(merged, next_id, now, engine.settings.step_limit)
            decision.execution.update(updates)
            if decision.execution["status"] == Status.RUNNING.value:
                decision.execution["next_run_at"] = now
        decision.step = {"state": State.FINISHED.value}
        decision.logs.insert(0, ("INFO", f"resumed after skipping failed step '{step['step_id']}'"))
        return decision

    await _run(engine, tenant_id, execution_id, change)


# --- retry and restart -----------------------------------------------------------


def _replace_steps(sealer: Sealer, row: dict[str, Any], steps: dict[str, Any] | None) -> dict[str, Any]:
    """Return the snapshot with `steps` replaced, validated as a whole design."""
    if not steps:
        return dict(row["snapshot"])
    unknown = sorted(set(steps) - set(row["snapshot"]["steps"]))
    if unknown:
        raise InvalidRequest("VALIDATION_FAILED", f"/steps: {', '.join(unknown)} not steps of this execution")
    snapshot = {**row["snapshot"], "steps": {**row["snapshot"]["steps"], **steps}}
    workflow = WorkflowBody.model_validate(sealer.open(snapshot))
    problems = validate_design(workflow)
    if problems:
        raise invalid(problems)
    return seal_design(workflow.model_dump(mode="json", exclude_none=True), sealer)


def _restart(
    row: dict[str, Any],
    step: dict[str, Any] | None,
    step_id: str,
    snapshot: dict[str, Any],
    updates: dict[str, Any],
    now: int,
    reason: str,
) -> Decision:
    """Close the current step execution and enter `step_id` as a new one, queued at once."""
    seq = 0 if row["current_seq"] is None else row["current_seq"] + 1
    next_row, _ = new_step_row({**row, "debug_step_ids": []}, seq, step_id, snapshot["steps"][step_id])
    closing: dict[str, Any] = {}
    if step is not None and step["state"] != State.FINISHED.value:
        closing = {"state": State.FINISHED.value, "end_time": step["end_time"] or now}
        if step["result"] is None:
            closing["result"] = StepResult.SKIPPED.value
    execution = {
        "status": Status.QUEUED.value,
        "snapshot": snapshot,
        "current_step_id": step_id,
        "current_seq": seq,
        "step_count": row["step_count"] + 1,
        "aborted": False,
        "abort_requested": False,
        "end_time": None,
        "next_run_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
        **updates,
    }
    return Decision(closing, execution, next_row, [("INFO", reason)])


async def retry(engine: Engine, tenant_id: str, execution_id: str, body: dict[str, Any]) -> None:
    """Run the failed or aborted step again as a new step execution."""

    async def change(_conn: AsyncConnection, locked: Locked) -> Decision:
        row, step = locked.row, locked.step
        if row["status"] not in (Status.PAUSED.value, Status.FAILED.value, Status.ABORTED.value):
            raise Conflict(
                "EXECUTION_NOT_RETRYABLE",
                f"execution '{execution_id}' is {row['status']}; retry needs PAUSED, FAILED or ABORTED",
            )
        if step is None or step["result"] not in (StepResult.FAILURE.value, StepResult.ABORTED.value):
            raise Conflict(
                "NO_FAILED_STEP",
                f"execution '{execution_id}' has no failed or aborted step to retry; use resume",
            )
        snapshot = _replace_steps(engine.sealer, row, body.get("steps"))
        updates = check_value_changes(engine.sealer, row, body, await _file_names(_conn, row))
        return _restart(
            row,
            step,
            step["step_id"],
            snapshot,
            updates,
            now_ms(),
            f"retry of step '{step['step_id']}' requested",
        )

    await _run(engine, tenant_id, execution_id, change)


# --- change ----------------------------------------------------------------------


LIVE_FIELDS = ("pauseAtFailure", "debugStepIds", "retainedTil")
RESTART_FIELDS = ("steps", "startStepId")
VALUE_FIELDS = ("assignments", "variables")


def _check_patch_allowed(row: dict[str, Any], body: dict[str, Any]) -> None:
    status = Status(row["status"])
    restart = [key for key in RESTART_FIELDS if key in body]
    values = [key for key in VALUE_FIELDS if key in body]
    live = [key for key in LIVE_FIELDS if key in body]
    # A FAILED execution restarted with startStepId becomes live again, so its flags may change too.
    if live and status in ENDED_STATUSES and not (status is Status.FAILED and "startStepId" in body):
        raise _ended(row, "changing " + ", ".join(live))
    if restart and status not in (Status.PAUSED, Status.FAILED):
        raise Conflict(
            "EXECUTION_NOT_PAUSED",
            f"execution '{row['id']}' is {row['status']}; {', '.join(restart)} can change only while "
            "it is PAUSED or FAILED",
        )
    if values and status is not Status.PAUSED:
        raise Conflict(
            "EXECUTION_NOT_PAUSED",
            f"execution '{row['id']}' is {row['status']}; {', '.join(values)} can change only "
            "while it is PAUSED",
        )


def _flag_changes(row: dict[str, Any], body: dict[str, Any], now: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "pauseAtFailure" in body:
        values["pause_at_failure"] = bool(body["pauseAtFailure"])
    if "debugStepIds" in body:
        unknown = [step for step in body["debugStepIds"] if step not in row["snapshot"]["steps"]]
        if unknown:
            raise InvalidRequest(
                "VALIDATION_FAILED", f"/debugStepIds: {', '.join(unknown)} not steps of the workflow"
            )
        values["debug_step_ids"] = list(body["debugStepIds"])
    if "retainedTil" in body:
        values["retained_til"] = _future_time(body["retainedTil"], now)
    return values


async def patch(engine: Engine, tenant_id: str, execution_id: str, body: dict[str, Any]) -> None:
    """Apply a workflowExecutionChange."""

    async def change(conn: AsyncConnection, locked: Locked) -> Decision:
        row, step, now = locked.row, locked.step, now_ms()
        _check_patch_allowed(row, body)
        files = await _file_names(conn, row)
        values = {**_flag_changes(row, body, now), **check_value_changes(engine.sealer, row, body, files)}
        if "steps" in body:
            values["snapshot"] = _replace_steps(engine.sealer, row, body["steps"])
        snapshot = values.get("snapshot", row["snapshot"])
        if "startStepId" in body:
            start = body["startStepId"]
            if start not in snapshot["steps"]:
                raise InvalidRequest(
                    "VALIDATION_FAILED", f"/startStepId: '{start}' is not a step of the workflow"
                )
            return _restart(row, step, start, snapshot, values, now, f"restart at step '{start}' requested")
        if "steps" in body and step is not None and step["step_id"] in body["steps"]:
            # A paused step runs with its new definition when it is resumed.
            frozen = {"id": step["step_id"], **snapshot["steps"][step["step_id"]]}
            await store.update_step_execution(
                conn, tenant_id, execution_id, step["seq"], {"snapshot": frozen}
            )
        return Decision({}, values, logs=[("INFO", "execution changed: " + ", ".join(sorted(body)))])

    await _run(engine, tenant_id, execution_id, change)


def _future_time(text: Any, now: int) -> int:
    try:
        value = parse_time(str(text))
    except ValueError as exc:
        raise InvalidRequest("VALIDATION_FAILED", f"/retainedTil: {exc}") from exc
    if value <= now:
        raise InvalidRequest("VALIDATION_FAILED", f"/retainedTil: {text} is in the past; give a future time")
    return value


# --- delete ----------------------------------------------------------------------


async def delete(engine: Engine, tenant_id: str, execution_id: str) -> None:
    """Delete an ended execution with its step executions, logs and attachments."""
    async with engine.db.write() as conn:
        locked = await _lock(conn, tenant_id, execution_id)
        if Status(locked.row["status"]) not in ENDED_STATUSES:
            raise Conflict(
                "EXECUTION_NOT_ENDED",
                f"execution '{execution_id}' is {locked.row['status']}; abort it before deleting it",
            )
        keys = await attachment_store.delete_attachments_of(conn, tenant_id, "execution", execution_id)
        await store.delete_execution(conn, tenant_id, execution_id)
    engine.blobs.delete_many(keys)
