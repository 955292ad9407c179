"""Conversion of legacy schemaVersion "1.0" designs to the 3.0 form.

A 1.0 design has the top-level fields of a 3.0 design (`name`, `version`, `inputs`,
`outputs`, `variables`, `startStepId`, ...), which are kept as they are, except that
`schemaVersion` is "1.0" and `steps` is an array of step objects in this shape::

    {
      "stepId": "apply",                    required, unique, non-empty string
      "type": "TCA_SSH",                    required
      "description": "...",                 optional
      "inBinding": [                        optional array
        {"name": "host", "type": "string", "exportName": "host",
         "defaultValue": "...", "format": "...", "description": "..."}
      ],
      "outBinding": [                       optional array
        {"name": "output", "type": "string", "exportName": "result", "format": "..."}
      ],
      "nextStep": "check",                  optional; "END", null or absent ends the execution
      "conditions": [                       optional array
        {"name": "result", "comparator": "equals", "value": "ok", "nextStep": "done"}
      ],
      "timeout": "PT5M", "retry": {...}     optional, as in 3.0
    }

In 3.0 form, `inBinding` becomes `inBindings` keyed by the binding's `name`. `outBinding`
becomes `outBindings` keyed by `exportName` (the workflow variable or output), whose
value keeps `name` (the step output). `nextStep` becomes `nextStepId`. A condition may
give its target as `nextStep` or `nextStepId`. A condition whose target is "END" gets a
NOOP step named "END" (or "END_" and so on when that id is taken), because a 3.0
condition must name a step. Without `startStepId`, the first step of the array starts.
"""

from __future__ import annotations

from typing import Any

from .problems import DesignError, Problem, json_pointer

END = "END"

_STEP_FIELDS = frozenset(
    {"stepId", "type", "description", "inBinding", "outBinding", "nextStep", "conditions", "timeout", "retry"}
)
_IN_BINDING_FIELDS = frozenset({"name", "type", "format", "description", "defaultValue", "exportName"})
_OUT_BINDING_FIELDS = frozenset({"name", "type", "format", "exportName"})
_CONDITION_FIELDS = frozenset({"name", "comparator", "value", "nextStep", "nextStepId"})


def convert_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Convert a schemaVersion "1.0" design into a 3.0 design (a new dict).

    Only the shape is converted; the result still needs `parse_design`. Raises
    DesignError with pointers into the 1.0 document when its steps are malformed.
    """
    problems: list[Problem] = []
    raw_steps = data.get("steps", [])
    if not isinstance(raw_steps, list):
        raise DesignError([Problem("/steps", "steps of a 1.0 design must be an array of steps")])

    steps: dict[str, dict[str, Any]] = {}
    for index, raw_step in enumerate(raw_steps):
        converted = _convert_step(raw_step, json_pointer("steps", index), problems)
        if converted is None:
            continue
        step_id, step = converted
        if step_id in steps:
            problems.append(Problem(json_pointer("steps", index, "stepId"), f"duplicate stepId {step_id!r}"))
        steps[step_id] = step
    if problems:
        raise DesignError(problems)

    _add_end_step(steps)
    result = {key: value for key, value in data.items() if key != "steps"}
    result["schemaVersion"] = "3.0"
    result["steps"] = steps
    if result.get("startStepId") is None and steps:
        result["startStepId"] = raw_steps[0]["stepId"]
    return result


def _add_end_step(steps: dict[str, dict[str, Any]]) -> None:
    """Give conditions that target "END" a NOOP step to go to."""
    targets = [
        condition
        for step in steps.values()
        for condition in step.get("conditions", [])
        if condition["nextStepId"] == END
    ]
    if not targets:
        return
    end_id = END
    while end_id in steps:
        end_id += "_"
    steps[end_id] = {"type": "NOOP", "description": 'End of the workflow ("END" in 1.0)'}
    for condition in targets:
        condition["nextStepId"] = end_id


def _unknown_fields(
    item: dict[str, Any], allowed: frozenset[str], pointer: str, problems: list[Problem]
) -> None:
    for key in item:
        if key not in allowed:
            problems.append(Problem(pointer + json_pointer(key), f"unknown field {key!r}"))


def _required_text(item: dict[str, Any], key: str, pointer: str, problems: list[Problem]) -> str | None:
    value = item.get(key)
    if isinstance(value, str) and value:
        return value
    message = "missing required field" if value is None else "must be a non-empty string"
    problems.append(Problem(pointer + json_pointer(key), f"{message} {key!r}"))
    return None


def _object_list(
    item: dict[str, Any], key: str, pointer: str, problems: list[Problem]
) -> list[tuple[str, dict[str, Any]]]:
    """Return the objects of array `item[key]` with their pointers, and report other entries."""
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(Problem(pointer + json_pointer(key), f"{key} must be an array of objects"))
        return []
    entries = []
    for index, entry in enumerate(value):
        entry_pointer = pointer + json_pointer(key, index)
        if isinstance(entry, dict):
            entries.append((entry_pointer, entry))
        else:
            problems.append(Problem(entry_pointer, f"each entry of {key} must be an object"))
    return entries


def _convert_step(raw: Any, pointer: str, problems: list[Problem]) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(raw, dict):
        problems.append(Problem(pointer, "each step of a 1.0 design must be an object"))
        return None
    _unknown_fields(raw, _STEP_FIELDS, pointer, problems)
    step_id = _required_text(raw, "stepId", pointer, problems)

    step = {key: raw[key] for key in ("type", "description", "timeout", "retry") if key in raw}
    step["inBindings"] = _convert_in_bindings(raw, pointer, problems)
    step["outBindings"] = _convert_out_bindings(raw, pointer, problems)
    step["conditions"] = _convert_conditions(raw, pointer, problems)

    next_step = raw.get("nextStep")
    if next_step is not None and not isinstance(next_step, str):
        problems.append(Problem(pointer + "/nextStep", 'nextStep must be a step id, "END" or null'))
    elif next_step not in (None, END):
        step["nextStepId"] = next_step

    if step_id is None:
        return None
    return step_id, step


def _convert_in_bindings(raw: dict[str, Any], pointer: str, problems: list[Problem]) -> dict[str, Any]:
    bindings: dict[str, Any] = {}
    for entry_pointer, entry in _object_list(raw, "inBinding", pointer, problems):
        _unknown_fields(entry, _IN_BINDING_FIELDS, entry_pointer, problems)
        name = _required_text(entry, "name", entry_pointer, problems)
        if name is None:
            continue
        if name in bindings:
            problems.append(Problem(entry_pointer + "/name", f"duplicate inBinding for input {name!r}"))
        bindings[name] = {key: value for key, value in entry.items() if key != "name"}
    return bindings


def _convert_out_bindings(raw: dict[str, Any], pointer: str, problems: list[Problem]) -> dict[str, Any]:
    bindings: dict[str, Any] = {}
    for entry_pointer, entry in _object_list(raw, "outBinding", pointer, problems):
        _unknown_fields(entry, _OUT_BINDING_FIELDS, entry_pointer, problems)
        target = _required_text(entry, "exportName", entry_pointer, problems)
        if target is None:
            continue
        if target in bindings:
            problems.append(
                Problem(
                    entry_pointer + "/exportName",
                    f"two outBindings write {target!r}; keep one",
                )
            )
        bindings[target] = {key: value for key, value in entry.items() if key != "exportName"}
    return bindings


def _convert_conditions(raw: dict[str, Any], pointer: str, problems: list[Problem]) -> list[dict[str, Any]]:
    conditions = []
    for entry_pointer, entry in _object_list(raw, "conditions", pointer, problems):
        _unknown_fields(entry, _CONDITION_FIELDS, entry_pointer, problems)
        if "nextStep" in entry and "nextStepId" in entry:
            message = "give either nextStep or nextStepId, not both"
            problems.append(Problem(entry_pointer + "/nextStepId", message))
            continue
        target_key = "nextStepId" if "nextStepId" in entry else "nextStep"
        target = _required_text(entry, target_key, entry_pointer, problems)
        if target is None:
            continue
        condition = {key: value for key, value in entry.items() if key != target_key}
        condition["nextStepId"] = target
        conditions.append(condition)
    return conditions
