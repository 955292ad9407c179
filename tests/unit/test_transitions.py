"""The state tables agree with the wire enums and the schema's CHECK constraints."""

from __future__ import annotations

import pytest
from sqlalchemy import CheckConstraint, Table

from stepline.engine.transitions import (
    EXECUTION_TRANSITIONS,
    STEP_TRANSITIONS,
    IllegalTransition,
    check_execution,
    check_step,
)
from stepline.store.tables import executions, step_executions
from stepline.wire.execution import ExecutionStatus, StepState


def check_values(table: Table, name: str) -> str:
    constraint = next(c for c in table.constraints if c.name == f"ck_{table.name}_{name}")
    assert isinstance(constraint, CheckConstraint)
    return str(constraint.sqltext)


def test_step_table_covers_every_state() -> None:
    assert set(STEP_TRANSITIONS) == set(StepState)


def test_execution_table_covers_every_status() -> None:
    assert set(EXECUTION_TRANSITIONS) == set(ExecutionStatus)


def test_schema_checks_match_enums() -> None:
    status_check = check_values(executions, "status")
    state_check = check_values(step_executions, "state")
    for status in ExecutionStatus:
        assert f"'{status.value}'" in status_check
    for state in StepState:
        assert f"'{state.value}'" in state_check


def test_ended_statuses_are_final_except_restart() -> None:
    assert EXECUTION_TRANSITIONS[ExecutionStatus.COMPLETED] == frozenset()
    assert EXECUTION_TRANSITIONS[ExecutionStatus.ABORTED] == {ExecutionStatus.QUEUED}


@pytest.mark.parametrize(("old", "new"), [("finished", "executing"), ("waitingAfterExecution", "executing")])
def test_illegal_step_moves_raise(old: str, new: str) -> None:
    with pytest.raises(IllegalTransition):
        check_step(old, new)


def test_completed_cannot_fail() -> None:
    with pytest.raises(IllegalTransition):
        check_execution("COMPLETED", "FAILED")
