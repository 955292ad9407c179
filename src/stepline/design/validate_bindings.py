"""Validation rules for the in- and out-bindings of a step against its type and the design."""

from __future__ import annotations

from dataclasses import dataclass

from stepline.wire.workflow import InBinding, OutBinding, Parameter, Step, WorkflowBody

from .catalog import VALUE_TYPES, StepTypeSpec
from .problems import Problem, json_pointer, quote_names
from .templates import TemplateError, is_template, template_names
from .value_types import CONTEXT_VARIABLES, accepts_type, is_assignable


@dataclass(frozen=True)
class DesignScope:
    """The names a step of a design can read and write."""

    readable: dict[str, Parameter]
    writable: dict[str, Parameter]

    @classmethod
    def of(cls, wf: WorkflowBody) -> DesignScope:
        context = {name: Parameter(type="string") for name in CONTEXT_VARIABLES}
        return cls(
            readable={**context, **wf.inputs, **wf.variables},
            writable={**wf.outputs, **wf.variables},
        )


def check_in_bindings(
    step_id: str, step: Step, spec: StepTypeSpec | None, scope: DesignScope
) -> list[Problem]:
    """Check every in-binding of a step, and that the step type's required inputs are bound.

    When `spec` is None (an unknown step type), only the references are checked.
    """
    problems: list[Problem] = []
    for input_name, binding in step.inBindings.items():
        pointer = json_pointer("steps", step_id, "inBindings", input_name)
        problems.extend(_check_in_binding(pointer, input_name, binding, spec, scope))
    if spec is not None:
        problems.extend(_check_required_inputs(step_id, step, spec))
    return problems


def _check_in_binding(
    pointer: str, input_name: str, binding: InBinding, spec: StepTypeSpec | None, scope: DesignScope
) -> list[Problem]:
    problems: list[Problem] = []
    if binding.type not in VALUE_TYPES:
        problems.append(_unknown_type(pointer + "/type", binding.type))

    # A binding type that contradicts the exported parameter is one issue, so the step
    # type's check of the same field is skipped then.
    type_mismatch = False
    if binding.exportName is not None:
        exported = scope.readable.get(binding.exportName)
        if exported is None:
            problems.append(
                Problem(
                    pointer + "/exportName",
                    f"exportName {binding.exportName!r} names no input or variable; declare it "
                    f"or use one of: {quote_names(scope.readable)}",
                )
            )
        elif _both_known(exported.type, binding.type) and not is_assignable(exported.type, binding.type):
            type_mismatch = True
            problems.append(
                Problem(
                    pointer + "/type",
                    f"binding type {binding.type!r} does not match type {exported.type!r} of "
                    f"{binding.exportName!r}; use {exported.type!r}",
                )
            )

    if spec is not None:
        problems.extend(_check_against_spec(pointer, input_name, binding, spec, check_type=not type_mismatch))
    if isinstance(binding.defaultValue, str) and is_template(binding.defaultValue):
        problems.extend(_check_template(pointer + "/defaultValue", binding.defaultValue, scope))
    return problems


def _check_against_spec(
    pointer: str, input_name: str, binding: InBinding, spec: StepTypeSpec, *, check_type: bool
) -> list[Problem]:
    """Check that the step type has this input and accepts the binding's type.

    Together with the exportName check this also keeps a `file` input away from a step
    input that does not accept files, because only a `file` binding may export one.
    """
    input_spec = spec.inputs.get(input_name)
    if input_spec is None:
        if spec.open_inputs:
            return []
        return [
            Problem(
                pointer,
                f"step type {spec.name!r} has no input {input_name!r}; "
                f"its inputs are: {quote_names(spec.inputs)}",
            )
        ]

    if not check_type or binding.type not in VALUE_TYPES:
        return []
    if not accepts_type(input_spec.types, binding.type):
        return [
            Problem(
                pointer + "/type",
                f"input {input_name!r} of step type {spec.name!r} does not accept type "
                f"{binding.type!r}; use one of: {', '.join(sorted(input_spec.types))}",
            )
        ]
    return []


def _check_required_inputs(step_id: str, step: Step, spec: StepTypeSpec) -> list[Problem]:
    problems = []
    for input_name, input_spec in spec.inputs.items():
        if not input_spec.required:
            continue
        binding = step.inBindings.get(input_name)
        if binding is None:
            problems.append(
                Problem(
                    json_pointer("steps", step_id, "inBindings"),
                    f"missing required input {input_name!r} of step type {spec.name!r}; "
                    f"add an inBinding {input_name!r} with an exportName or a defaultValue",
                )
            )
        elif binding.exportName is None and binding.defaultValue is None:
            problems.append(
                Problem(
                    json_pointer("steps", step_id, "inBindings", input_name),
                    f"required input {input_name!r} of step type {spec.name!r} has neither "
                    "exportName nor defaultValue; set one of them",
                )
            )
    return problems


def _check_template(pointer: str, text: str, scope: DesignScope) -> list[Problem]:
    try:
        names = template_names(text)
    except TemplateError as exc:
        return [Problem(pointer, str(exc))]
    return [
        Problem(
            pointer,
            f"template refers to {name!r}, which is no input or variable; "
            f"declare it or use one of: {quote_names(scope.readable)}",
        )
        for name in sorted(names - scope.readable.keys())
    ]


def check_out_bindings(
    step_id: str, step: Step, spec: StepTypeSpec | None, scope: DesignScope
) -> list[Problem]:
    """Check that each out-binding writes a declared variable or output with a matching type,
    and reads an output that the step type has."""
    problems: list[Problem] = []
    for target, binding in step.outBindings.items():
        pointer = json_pointer("steps", step_id, "outBindings", target)
        problems.extend(_check_out_binding(pointer, target, binding, spec, scope))
    return problems


def _check_out_binding(
    pointer: str, target: str, binding: OutBinding, spec: StepTypeSpec | None, scope: DesignScope
) -> list[Problem]:
    problems: list[Problem] = []
    declared = scope.writable.get(target)
    if declared is None:
        problems.append(
            Problem(
                pointer,
                f"outBinding {target!r} names no variable or output; declare it under "
                f"variables or outputs, or use one of: {quote_names(scope.writable)}",
            )
        )

    if binding.type is not None and binding.type not in VALUE_TYPES:
        problems.append(_unknown_type(pointer + "/type", binding.type))
    elif binding.type is not None and declared is not None:
        if _both_known(binding.type, declared.type) and not is_assignable(binding.type, declared.type):
            problems.append(
                Problem(
                    pointer + "/type",
                    f"binding type {binding.type!r} does not match type {declared.type!r} of "
                    f"{target!r}; use {declared.type!r}",
                )
            )

    if spec is not None and spec.supported and "*" not in spec.outputs:
        if binding.name not in spec.outputs:
            problems.append(
                Problem(
                    pointer + "/name",
                    f"step type {spec.name!r} has no output {binding.name!r}; "
                    f"its outputs are: {quote_names(spec.outputs)}",
                )
            )
    return problems


def _both_known(first: str, second: str) -> bool:
    """Return whether both types are valid. An unknown type is reported once, where it is declared."""
    return first in VALUE_TYPES and second in VALUE_TYPES


def _unknown_type(pointer: str, value_type: str) -> Problem:
    return Problem(pointer, f"unknown type {value_type!r}; use one of: {', '.join(sorted(VALUE_TYPES))}")
