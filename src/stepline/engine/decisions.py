"""Decisions after a step ends: out-bindings, conditions, retries, pause, failure, completion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepline.design.assignments import secret_names
from stepline.design.bindings import BindingError, apply_out_bindings
from stepline.design.conditions import ConditionError, next_step_id
from stepline.design.durations import parse_duration
from stepline.wire.execution import ExecutionStatus as Status
from stepline.wire.execution import StepResult
from stepline.wire.execution import StepState as State
from stepline.wire.workflow import Step, WorkflowBody

from .deps import Engine
from .masking import Masker
from .sealing import seal_names
from .steplog import StepLog
from .transitions import Decision, Outcome, backoff_seconds, complete, enter_step, release


def masker_for(workflow: WorkflowBody, row: dict[str, Any]) -> Masker:
    """Return a masker for the secret inputs and variables of this execution."""
    names = secret_names(workflow)
    values = [row["assignments"].get(name) for name in names]
    values += [row["variables"].get(name) for name in names]
    for step in workflow.steps.values():
        values += [b.defaultValue for b in step.inBindings.values() if b.type == "password"]
    return Masker(values)


def max_attempts(step_row: dict[str, Any]) -> int:
    policy = step_row["snapshot"].get("retry") or {}
    return int(policy.get("maxAttempts") or 1)


def final_outputs(workflow: WorkflowBody, outputs: dict[str, Any]) -> dict[str, Any]:
    """Return the declared workflow outputs that have a value, defaults included."""
    result = {}
    for name, parameter in workflow.outputs.items():
        value = outputs.get(name, parameter.defaultValue)
        if value is not None:
            result[name] = value
    return result


def after_step(
    row: dict[str, Any],
    step_row: dict[str, Any],
    workflow: WorkflowBody,
    outcome: Outcome,
    masker: Masker,
    now: int,
    engine: Engine,
    log: StepLog,
    planned: Planned | None = None,
) -> Decision:
    """Decide the writes after a step ended with `outcome`.

    `planned` carries a next step already chosen by `plan_next` outside the transaction.
    """
    step = frozen_step(engine, step_row)
    if outcome.success:
        try:
            return _after_success(row, step_row, step, workflow, outcome, masker, now, engine, planned)
        except BindingError as exc:
            outcome = Outcome(False, outcome.outputs, "BINDING_FAILED", str(exc), retryable=False)
        except ConditionError as exc:
            outcome = Outcome(False, outcome.outputs, "CONDITION_FAILED", str(exc), retryable=False)
    return _after_failure(row, step_row, step, outcome, masker, now, log)


@dataclass
class Planned:
    """The next step chosen from a step's conditions, or the error that choosing raised."""

    next_id: str | None = None
    error: BindingError | ConditionError | None = None


def frozen_step(engine: Engine, step_row: dict[str, Any]) -> Step:
    frozen = engine.sealer.open(step_row["snapshot"])
    return Step.model_validate({k: v for k, v in frozen.items() if k != "id"})


def uses_match(step: Step) -> bool:
    return any(condition.comparator == "match" for condition in step.conditions)


def plan_next(
    engine: Engine, step: Step, workflow: WorkflowBody, row: dict[str, Any], outcome: Outcome
) -> Planned:
    """Choose the next step after a success; slow `match` conditions make callers run it in a thread."""
    try:
        variable_updates, _ = apply_out_bindings(step, outcome.outputs, workflow)
        values = engine.sealer.open({**row["assignments"], **row["variables"], **variable_updates})
        return Planned(next_step_id(step, values))
    except (BindingError, ConditionError) as exc:
        return Planned(error=exc)


def _after_success(
    row: dict[str, Any],
    step_row: dict[str, Any],
    step: Step,
    workflow: WorkflowBody,
    outcome: Outcome,
    masker: Masker,
    now: int,
    engine: Engine,
    planned: Planned | None,
) -> Decision:
    variable_updates, output_updates = apply_out_bindings(step, outcome.outputs, workflow)
    secrets = secret_names(workflow)
    sealer = engine.sealer
    if planned is None:
        planned = plan_next(engine, step, workflow, row, outcome)
    if planned.error is not None:
        raise planned.error
    next_id = planned.next_id
    # Values copied out of a step are masked where they echo a secret, and sealed when
    # the variable or output itself is a password.
    variables = {**row["variables"], **seal_names(sealer, masker.value(variable_updates), secrets)}
    outputs = {**row["outputs"], **seal_names(sealer, masker.value(output_updates), secrets)}
    step_values = {
        "state": State.FINISHED.value,
        "result": StepResult.SUCCESS.value,
        "error": None,
        "end_time": now,
        "outputs": masker.value(outcome.outputs),
    }
    if next_id is None:
        decision = complete(row, final_outputs(workflow, outputs), now)
    else:
        decision = enter_step(row, next_id, now, engine.settings.step_limit)
        decision.execution["outputs"] = outputs
    decision.step = step_values
    decision.execution["variables"] = variables
    return decision


def _after_failure(
    row: dict[str, Any],
    step_row: dict[str, Any],
    step: Step,
    outcome: Outcome,
    masker: Masker,
    now: int,
    log: StepLog,
) -> Decision:
    error = {"code": outcome.code or "STEP_FAILED", "message": masker.text(outcome.message or "")}
    log.error(f"{error['code']}: {error['message']}")
    base = {"error": error, "outputs": masker.value(outcome.outputs)}
    attempt = step_row["attempt"]
    policy = step.retry
    if policy is not None and attempt < policy.maxAttempts and outcome.retryable:
        delay = backoff_seconds(policy.model_dump(), attempt, parse_duration)
        log.warn(f"attempt {attempt} of {policy.maxAttempts} failed; next attempt in {delay:g} s")
        step_values = {**base, "state": State.RETRY.value}
        execution = {"next_run_at": now + int(delay * 1000), **release()}
        return Decision(step_values, execution)
    step_id = step_row["step_id"]
    failed = {**base, "result": StepResult.FAILURE.value, "end_time": now}
    if row["pause_at_failure"]:
        step_values = {**failed, "state": State.WAITING_AFTER_EXECUTION.value}
        execution = {"status": Status.PAUSED.value, "next_run_at": None, **release()}
        message = f"paused after step '{step_id}' failed with {error['code']}"
        return Decision(step_values, execution, logs=[("WARN", message)])
    step_values = {**failed, "state": State.FINISHED.value}
    execution = {"status": Status.FAILED.value, "end_time": now, "next_run_at": None, **release()}
    message = f"execution failed: step '{step_id}' failed with {error['code']}: {error['message']}"
    return Decision(step_values, execution, logs=[("ERROR", message)])
