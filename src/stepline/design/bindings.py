"""Step bindings at run time: the values a step receives and where its outputs go."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stepline.wire.workflow import Step, WorkflowBody

from .problems import quote_names
from .templates import TemplateError, is_template, render
from .value_types import coerce


class BindingError(ValueError):
    """A binding that cannot be applied.

    `name` is the step input, or the variable or workflow output that an out-binding writes.
    """

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"binding {name!r}: {message}")
        self.name = name
        self.message = message


def resolve_inputs(step: Step, values: Mapping[str, Any]) -> dict[str, Any]:
    """Compute the input values of a step from its in-bindings.

    `values` contains the workflow inputs, variables and context values by name. An input
    takes the value named by `exportName` when that exists and is not None, else the
    binding's `defaultValue`, else None. A string `defaultValue` containing `{{` is
    rendered as a template with `values`. A value taken from `exportName` is passed as it
    is, so text that a step or an operator supplied is never interpreted as a template.
    Raises BindingError naming the input when a template fails to render.
    """
    resolved: dict[str, Any] = {}
    for input_name, binding in step.inBindings.items():
        if binding.exportName is not None and values.get(binding.exportName) is not None:
            resolved[input_name] = values[binding.exportName]
            continue

        value = binding.defaultValue
        if isinstance(value, str) and is_template(value):
            try:
                value = render(value, values)
            except TemplateError as exc:
                raise BindingError(input_name, f"invalid defaultValue template: {exc}") from exc
        resolved[input_name] = value
    return resolved


def apply_out_bindings(
    step: Step, outputs: Mapping[str, Any], wf: WorkflowBody
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Map a successful step's outputs to workflow variables and outputs.

    Each out-binding copies step output `name` to the variable or workflow output named by
    its key (to both when both are declared), converted to the declared type when that
    loses nothing (see `value_types.coerce`). Returns (variable updates, output updates).
    Raises BindingError when the step did not return the output, when the key names
    neither a variable nor an output, or when the value does not fit the type.
    """
    variables: dict[str, Any] = {}
    workflow_outputs: dict[str, Any] = {}
    for target, binding in step.outBindings.items():
        if binding.name not in outputs:
            raise BindingError(
                target,
                f"the step returned no output {binding.name!r}; outputs returned: {quote_names(outputs)}",
            )

        declared = wf.variables.get(target) or wf.outputs.get(target)
        if declared is None:
            raise BindingError(target, "declare it under variables or outputs of the workflow")
        try:
            value = coerce(outputs[binding.name], declared.type)
        except ValueError as exc:
            raise BindingError(
                target, f"step output {binding.name!r} does not fit type {declared.type!r}: {exc}"
            ) from exc

        if target in wf.variables:
            variables[target] = value
        if target in wf.outputs:
            workflow_outputs[target] = value
    return variables, workflow_outputs
