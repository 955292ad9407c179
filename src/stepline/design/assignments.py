"""Input values of a new execution (`assignments`), checked against the design's inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepline.wire.workflow import Parameter, WorkflowBody

from .problems import Problem, json_pointer, quote_names
from .value_types import matches_type, type_name


def secret_names(wf: WorkflowBody) -> set[str]:
    """Return the names of inputs, variables and workflow outputs of type `password`.

    Outputs are included because an out-binding can copy a secret into one.
    """
    parameters = [*wf.inputs.items(), *wf.variables.items(), *wf.outputs.items()]
    return {name for name, parameter in parameters if parameter.type == "password"}


def check_assignments(
    wf: WorkflowBody, assignments: Mapping[str, Any], attachment_names: set[str]
) -> tuple[dict[str, Any], list[Problem]]:
    """Check the input values of an execution and complete them with defaults.

    Rejects names that are not inputs of the design, required inputs that have neither a
    value nor a `defaultValue`, and values of the wrong type. A `file` input must name
    one of `attachment_names`. A None value counts as no value. Returns the values with
    defaults applied, and one problem per issue with a pointer `/assignments/<name>`.
    """
    problems: list[Problem] = []
    for name in assignments:
        if name not in wf.inputs:
            problems.append(
                Problem(
                    json_pointer("assignments", name),
                    f"unknown input {name!r}; the design's inputs are: {quote_names(wf.inputs)}",
                )
            )

    values: dict[str, Any] = {}
    for name, parameter in wf.inputs.items():
        value = assignments.get(name)
        from_default = value is None
        if from_default:
            value = parameter.defaultValue
        if value is None:
            if parameter.required:
                problems.append(
                    Problem(json_pointer("assignments", name), f"missing required input {name!r}")
                )
            continue

        message = _type_problem(name, parameter, value, attachment_names)
        if message is not None:
            if from_default:
                message += " (from the defaultValue in the design)"
            problems.append(Problem(json_pointer("assignments", name), message))
        values[name] = value
    return values, problems


def _type_problem(name: str, parameter: Parameter, value: Any, attachment_names: set[str]) -> str | None:
    """Return what is wrong with the value of input `name`, or None when it fits."""
    if parameter.type == "file" and isinstance(value, str):
        if value in attachment_names:
            return None
        return (
            f"file input {name!r} names {value!r}, which is not among the uploaded files: "
            f"{_plain_names(attachment_names)}"
        )
    if matches_type(value, parameter.type):
        return None
    expected = "an attachment name (string)" if parameter.type == "file" else parameter.type
    return f"input {name!r} expects {expected}, got a value of type {type_name(value)}"


def _plain_names(names: set[str]) -> str:
    return ", ".join(sorted(names)) if names else "none (upload the file as a 'files' part)"
