"""Presentation of statuses, step states, times and designs in the UI.

Every state is shown by an icon and a word as well as by a colour, so colour is never the
only signal.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from stepline.design.catalog import STEP_TYPES
from stepline.engine.masking import MASK
from stepline.wire.execution import ENDED_STATUSES, ExecutionStatus, StepExecution, StepResult, StepState


@dataclass(frozen=True)
class Badge:
    """A state as the UI shows it: a CSS class (the colour), an icon and a word."""

    css: str
    icon: str
    text: str


STATUS_BADGES = {
    ExecutionStatus.QUEUED: Badge("queued", "○", "queued"),
    ExecutionStatus.RUNNING: Badge("running", "▶", "running"),
    ExecutionStatus.PAUSED: Badge("paused", "‖", "paused"),
    ExecutionStatus.COMPLETED: Badge("success", "✓", "completed"),
    ExecutionStatus.FAILED: Badge("failure", "✗", "failed"),
    ExecutionStatus.ABORTED: Badge("aborted", "⊘", "aborted"),
}

NOT_RUN = Badge("pending", "·", "not run")
RESULT_BADGES = {
    StepResult.SUCCESS: Badge("success", "✓", "succeeded"),
    StepResult.FAILURE: Badge("failure", "✗", "failed"),
    StepResult.ABORTED: Badge("aborted", "⊘", "aborted"),
    StepResult.SKIPPED: Badge("skipped", "↷", "skipped"),
}
STATE_BADGES = {
    StepState.WAITING_BEFORE_EXECUTION: Badge("paused", "‖", "paused at breakpoint"),
    StepState.EXECUTABLE: Badge("queued", "○", "about to run"),
    StepState.EXECUTING: Badge("running", "▶", "running"),
    StepState.RETRY: Badge("running", "↻", "waiting to retry"),
}


def status_badge(status: str) -> Badge:
    return STATUS_BADGES[ExecutionStatus(status)]


def step_badge(step: StepExecution) -> Badge:
    """Return the badge of a step execution: its result once it has one, else its state."""
    if step.result is not None:
        badge = RESULT_BADGES[step.result]
        if step.state == StepState.WAITING_AFTER_EXECUTION:
            return Badge(badge.css, badge.icon, f"{badge.text}, paused")
        return badge
    return STATE_BADGES.get(step.state, Badge("queued", "○", step.state.value))


def latest_by_step(steps: list[StepExecution]) -> dict[str, StepExecution]:
    """Return the newest step execution of each step id (a retried step runs more than once)."""
    latest: dict[str, StepExecution] = {}
    for step in steps:
        latest[str(step.stepSnapshot.get("id", ""))] = step
    return latest


def is_ended(status: str) -> bool:
    return ExecutionStatus(status) in ENDED_STATUSES


def short_time(value: str | None) -> str:
    """Show an RFC 3339 time of the API as 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    if not value:
        return ""
    return value.replace("T", " ")[:19]


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def value_text(value: Any) -> str:
    """Show a value in a table cell: strings as they are, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _is_secret_binding(step_type: str, name: str, binding: dict[str, Any]) -> bool:
    if binding.get("type") == "password":
        return True
    spec = STEP_TYPES.get(step_type)
    return bool(spec and name in spec.inputs and spec.inputs[name].secret)


def mask_design(design: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a design with the default values of secret parameters masked.

    Masks defaults of `password` inputs, variables and outputs, of `password` in-bindings,
    and of step inputs that the step type marks secret (passwords, private keys).
    """
    masked = copy.deepcopy(design)
    for section in ("inputs", "variables", "outputs"):
        for parameter in _members(masked, section).values():
            if isinstance(parameter, dict) and parameter.get("type") == "password":
                if parameter.get("defaultValue") is not None:
                    parameter["defaultValue"] = MASK
    for step in _members(masked, "steps").values():
        if not isinstance(step, dict):
            continue
        for name, binding in _members(step, "inBindings").items():
            if not isinstance(binding, dict) or binding.get("defaultValue") is None:
                continue
            if _is_secret_binding(str(step.get("type")), name, binding):
                binding["defaultValue"] = MASK
    return masked


def _members(container: dict[str, Any], key: str) -> dict[str, Any]:
    """Return `container[key]` when it is an object; an invalid upload may have anything there."""
    value = container.get(key)
    return value if isinstance(value, dict) else {}


TEMPLATE_GLOBALS: dict[str, Any] = {
    "status_badge": status_badge,
    "step_badge": step_badge,
    "is_ended": is_ended,
}
TEMPLATE_FILTERS: dict[str, Any] = {
    "short_time": short_time,
    "pretty_json": pretty_json,
    "value_text": value_text,
}
