"""The execution state machine: allowed transitions and the decisions after a step ends.

Everything here is pure: a decision is computed from the locked execution row and the
step's outcome, and the runner writes it in one version-checked transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stepline.wire.execution import ExecutionStatus as Status
from stepline.wire.execution import StepResult
from stepline.wire.execution import StepState as State

# Step execution states: from-state -> states it may move to. `executed` and
# `readyToComputeNextStep` are passed through inside one commit and never stored.
STEP_TRANSITIONS: dict[State, frozenset[State]] = {
    State.WAITING_BEFORE_EXECUTION: frozenset({State.EXECUTABLE, State.FINISHED}),
    State.EXECUTABLE: frozenset({State.EXECUTING, State.FINISHED}),
    State.EXECUTING: frozenset({State.FINISHED, State.RETRY, State.WAITING_AFTER_EXECUTION, State.EXECUTING}),
    State.RETRY: frozenset({State.EXECUTING, State.FINISHED}),
    State.WAITING_AFTER_EXECUTION: frozenset({State.FINISHED}),
    State.EXECUTED: frozenset({State.READY_TO_COMPUTE_NEXT_STEP, State.FINISHED}),
    State.READY_TO_COMPUTE_NEXT_STEP: frozenset({State.FINISHED}),
    State.FINISHED: frozenset(),
}

# Execution statuses: from-status -> statuses it may move to. FAILED and ABORTED go back
# to QUEUED only through an operator's restart (retry or a new start step).
EXECUTION_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.PAUSED, Status.FAILED, Status.ABORTED}),
    Status.RUNNING: frozenset(
        {Status.RUNNING, Status.PAUSED, Status.COMPLETED, Status.FAILED, Status.ABORTED}
    ),
    Status.PAUSED: frozenset({Status.QUEUED, Status.RUNNING, Status.ABORTED}),
    Status.FAILED: frozenset({Status.QUEUED}),
    Status.ABORTED: frozenset({Status.QUEUED}),
    Status.COMPLETED: frozenset(),
}


class IllegalTransition(Exception):
    """A write would move a step or an execution along an edge the tables do not allow."""


def check_step(old: str, new: str) -> None:
    if State(new) not in STEP_TRANSITIONS[State(old)]:
        raise IllegalTransition(f"step execution cannot move from {old} to {new}")


def check_execution(old: str, new: str) -> None:
    if Status(new) not in EXECUTION_TRANSITIONS[Status(old)]:
        raise IllegalTransition(f"execution cannot move from {old} to {new}")


@dataclass
class Outcome:
    """The result of one run of a step."""

    success: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    message: str | None = None
    retryable: bool = True


@dataclass
class Decision:
    """The writes that follow a step's end, applied together in one transaction."""

    step: dict[str, Any]
    execution: dict[str, Any]
    next_step: dict[str, Any] | None = None
    logs: list[tuple[str, str]] = field(default_factory=list)
    # True when the worker keeps its lease and goes on with the next step at once.
    keep_running: bool = False
    # Attachment names that the step received as file inputs.
    consumed: list[str] = field(default_factory=list)


def release() -> dict[str, Any]:
    """Execution values that give up the worker's lease."""
    return {"lease_owner": None, "lease_expires_at": None}


def new_step_row(
    execution: dict[str, Any], seq: int, step_id: str, snapshot: dict[str, Any]
) -> tuple[dict[str, Any], Status]:
    """Return the row of a step execution being entered, and the execution's new status.

    A step listed in `debugStepIds` waits before it runs and pauses the execution.
    """
    paused = step_id in (execution["debug_step_ids"] or [])
    row = {
        "tenant_id": execution["tenant_id"],
        "execution_id": execution["id"],
        "seq": seq,
        "step_id": step_id,
        "snapshot": {"id": step_id, **snapshot},
        "state": (State.WAITING_BEFORE_EXECUTION if paused else State.EXECUTABLE).value,
        "result": None,
        "error": None,
        "attempt": 1,
        "start_time": None,
        "end_time": None,
        "aborted": False,
        "inputs": {},
        "outputs": {},
    }
    return row, (Status.PAUSED if paused else Status.RUNNING)


def limit_exceeded_row(row: dict[str, Any], limit: int, now: int) -> dict[str, Any]:
    """Turn a step execution that would pass the step limit into a finished failure."""
    message = (
        f"the execution reached the limit of {limit} step executions; "
        "check the design for an endless loop or raise STEPLINE_STEP_LIMIT"
    )
    return {
        **row,
        "state": State.FINISHED.value,
        "result": StepResult.FAILURE.value,
        "error": {"code": "STEP_LIMIT_EXCEEDED", "message": message},
        "start_time": now,
        "end_time": now,
    }


def enter_step(execution: dict[str, Any], step_id: str, now: int, step_limit: int) -> Decision:
    """Enter `step_id` as the next step execution after the current one."""
    seq = 0 if execution["current_seq"] is None else execution["current_seq"] + 1
    snapshot = execution["snapshot"]["steps"][step_id]
    row, status = new_step_row(execution, seq, step_id, snapshot)
    values: dict[str, Any] = {
        "current_step_id": step_id,
        "current_seq": seq,
        "step_count": execution["step_count"] + 1,
    }
    if execution["step_count"] >= step_limit:
        row = limit_exceeded_row(row, step_limit, now)
        values.update(status=Status.FAILED.value, end_time=now, next_run_at=None, **release())
        return Decision({}, values, row, [("ERROR", row["error"]["message"])])
    if status is Status.PAUSED:
        values.update(status=status.value, next_run_at=None, **release())
        return Decision({}, values, row, [("INFO", f"paused before step '{step_id}'")])
    values.update(status=status.value)
    return Decision({}, values, row, keep_running=True)


def complete(execution: dict[str, Any], outputs: dict[str, Any], now: int) -> Decision:
    values = {
        "status": Status.COMPLETED.value,
        "current_step_id": None,
        "end_time": now,
        "next_run_at": None,
        "outputs": outputs,
        **release(),
    }
    return Decision({}, values, None, [("INFO", "execution completed")])


def backoff_seconds(policy: dict[str, Any], attempt: int, parse: Any) -> float:
    """Return the wait after failed attempt number `attempt` (1-based) of a retry policy."""
    delay = parse(policy.get("initialInterval") or "PT1S") * (
        float(policy.get("backoffCoefficient") or 2.0) ** (attempt - 1)
    )
    if policy.get("maxInterval"):
        delay = min(delay, parse(policy["maxInterval"]))
    return float(delay)


def abort_decision(row: dict[str, Any], step_row: dict[str, Any] | None, now: int) -> Decision:
    """End the execution as ABORTED and finish its current step execution if it is open.

    A step that had already failed keeps its FAILURE result; any other open step gets
    `result: ABORTED`. Both are marked `aborted`.
    """
    step: dict[str, Any] = {}
    if step_row is not None and step_row["state"] != State.FINISHED.value:
        failed = step_row["result"] == StepResult.FAILURE.value
        step = {
            "state": State.FINISHED.value,
            "aborted": True,
            "result": StepResult.FAILURE.value if failed else StepResult.ABORTED.value,
            "end_time": now,
        }
    execution = {
        "status": Status.ABORTED.value,
        "aborted": True,
        "abort_requested": False,
        "end_time": now,
        "next_run_at": None,
        **release(),
    }
    return Decision(step, execution, logs=[("WARN", "execution aborted")])
