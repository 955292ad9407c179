"""Validation of a parsed design: every rule that its JSON shape alone does not enforce."""

from __future__ import annotations

import re

from stepline.wire.workflow import Condition, Parameter, RetryPolicy, Step, WorkflowBody

from .catalog import STEP_TYPES, VALUE_TYPES, StepTypeSpec
from .conditions import COMPARATORS, ConditionError, check_pattern
from .durations import parse_duration
from .problems import Problem, json_pointer, quote_names
from .validate_bindings import DesignScope, check_in_bindings, check_out_bindings
from .value_types import matches_type

MAX_NAME_LENGTH = 128
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_NAME_RULE = f"use 1 to {MAX_NAME_LENGTH} characters: a letter or '_', then letters, digits, '_', '.' or '-'"
_PARAMETER_GROUPS = ("inputs", "outputs", "variables")


def validate_design(wf: WorkflowBody) -> list[Problem]:
    """Return every problem of a design, one per issue, each with a JSON pointer.

    Checks names, parameter types and defaults, the start step, every next step, step
    types, bindings (references, types, required inputs, templates), conditions,
    timeouts and retry policies. Cycles between steps are allowed.
    """
    problems = _check_parameters(wf)
    problems += _check_start(wf)
    scope = DesignScope.of(wf)
    for step_id, step in wf.steps.items():
        problems += _check_step(step_id, step, wf, scope)
    return problems


def _check_name(pointer: str, kind: str, name: str) -> list[Problem]:
    if len(name) <= MAX_NAME_LENGTH and _NAME.fullmatch(name):
        return []
    short_name = name if len(name) <= 40 else name[:40] + "..."
    return [Problem(pointer, f"invalid {kind} {short_name!r}: {_NAME_RULE}")]


def _check_parameters(wf: WorkflowBody) -> list[Problem]:
    problems: list[Problem] = []
    for group in _PARAMETER_GROUPS:
        parameters: dict[str, Parameter] = getattr(wf, group)
        for name, parameter in parameters.items():
            pointer = json_pointer(group, name)
            problems += _check_name(pointer, f"{group[:-1]} name", name)
            problems += _check_parameter_type(pointer, parameter)

    for name in sorted(wf.inputs.keys() & wf.variables.keys()):
        problems.append(
            Problem(
                json_pointer("variables", name),
                f"variable {name!r} has the same name as an input; rename one of them",
            )
        )
    return problems


def _check_parameter_type(pointer: str, parameter: Parameter) -> list[Problem]:
    if parameter.type not in VALUE_TYPES:
        return [
            Problem(
                pointer + "/type",
                f"unknown type {parameter.type!r}; use one of: {', '.join(sorted(VALUE_TYPES))}",
            )
        ]
    default = parameter.defaultValue
    if default is not None and not matches_type(default, parameter.type):
        return [
            Problem(
                pointer + "/defaultValue",
                f"defaultValue does not fit type {parameter.type!r}; "
                f"give a {parameter.type} value or remove it",
            )
        ]
    return []


def _check_start(wf: WorkflowBody) -> list[Problem]:
    if wf.startStepId is None:
        if not wf.steps:
            return []
        return [
            Problem(
                "/startStepId",
                f"missing startStepId; name the first step, one of: {quote_names(wf.steps)}",
            )
        ]
    return _check_step_reference("/startStepId", "startStepId", wf.startStepId, wf)


def _check_step_reference(pointer: str, field: str, target: str, wf: WorkflowBody) -> list[Problem]:
    if target in wf.steps:
        return []
    return [
        Problem(
            pointer,
            f"{field} {target!r} names no step; use one of: {quote_names(wf.steps)}",
        )
    ]


def _check_step(step_id: str, step: Step, wf: WorkflowBody, scope: DesignScope) -> list[Problem]:
    pointer = json_pointer("steps", step_id)
    problems = _check_name(pointer, "step id", step_id)

    spec, type_problems = _find_step_type(pointer, step.type)
    problems += type_problems
    if step.nextStepId is not None:
        problems += _check_step_reference(pointer + "/nextStepId", "nextStepId", step.nextStepId, wf)
    for index, condition in enumerate(step.conditions):
        problems += _check_condition(f"{pointer}/conditions/{index}", condition, wf, scope)

    problems += check_in_bindings(step_id, step, spec, scope)
    problems += check_out_bindings(step_id, step, spec, scope)
    problems += _check_timing(pointer, step)
    return problems


def _find_step_type(pointer: str, step_type: str) -> tuple[StepTypeSpec | None, list[Problem]]:
    """Look up a step type in the catalog.

    Returns the entry (None when unknown) and the problem when it is unknown or unsupported.
    """
    spec = STEP_TYPES.get(step_type)
    if spec is None:
        message = f"unknown step type {step_type!r}; known types: {', '.join(sorted(STEP_TYPES))}"
        return None, [Problem(pointer + "/type", message)]
    if not spec.supported:
        message = f"step type {step_type!r} is not supported yet by this server"
        return spec, [Problem(pointer + "/type", message)]
    return spec, []


def _check_condition(
    pointer: str, condition: Condition, wf: WorkflowBody, scope: DesignScope
) -> list[Problem]:
    problems: list[Problem] = []
    if condition.name not in scope.readable:
        problems.append(
            Problem(
                pointer + "/name",
                f"condition name {condition.name!r} is no input or variable; "
                f"use one of: {quote_names(scope.readable)}",
            )
        )
    if condition.comparator not in COMPARATORS:
        problems.append(
            Problem(
                pointer + "/comparator",
                f"unknown comparator {condition.comparator!r}; use one of: {', '.join(COMPARATORS)}",
            )
        )
    elif condition.comparator == "match":
        try:
            check_pattern(condition.value)
        except ConditionError as exc:
            problems.append(Problem(pointer + "/value", str(exc)))
    problems += _check_step_reference(pointer + "/nextStepId", "nextStepId", condition.nextStepId, wf)
    return problems


def _check_timing(pointer: str, step: Step) -> list[Problem]:
    problems: list[Problem] = []
    if step.timeout is not None:
        problems += _check_duration(pointer + "/timeout", step.timeout, allow_zero=False)
    if step.retry is not None:
        problems += _check_retry(pointer + "/retry", step.retry)
    return problems


def _check_duration(pointer: str, text: str, *, allow_zero: bool) -> list[Problem]:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        return [Problem(pointer, str(exc))]
    if seconds == 0 and not allow_zero:
        return [Problem(pointer, f"duration {text!r} is zero; give a positive duration")]
    return []


def _check_retry(pointer: str, retry: RetryPolicy) -> list[Problem]:
    problems: list[Problem] = []
    if retry.maxAttempts < 1:
        problems.append(
            Problem(
                pointer + "/maxAttempts",
                f"maxAttempts is {retry.maxAttempts}; it must be at least 1",
            )
        )
    initial_problems = _check_duration(pointer + "/initialInterval", retry.initialInterval, allow_zero=True)
    problems += initial_problems
    if retry.maxInterval is None:
        return problems

    max_problems = _check_duration(pointer + "/maxInterval", retry.maxInterval, allow_zero=True)
    problems += max_problems
    if initial_problems or max_problems:
        return problems
    if parse_duration(retry.maxInterval) < parse_duration(retry.initialInterval):
        problems.append(
            Problem(
                pointer + "/maxInterval",
                f"maxInterval {retry.maxInterval!r} is shorter than initialInterval "
                f"{retry.initialInterval!r}; make it at least as long",
            )
        )
    return problems
