"""Step inputs: bindings resolved, file names turned into file handles, secrets masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stepline.design.bindings import BindingError, resolve_inputs
from stepline.design.catalog import STEP_TYPES
from stepline.steps.base import FileInput
from stepline.wire.workflow import Step, WorkflowBody

from .masking import MASK, Masker


@dataclass
class StepInputs:
    """`values` go to the step runner; `masked` is what the step execution shows."""

    values: dict[str, Any]
    masked: dict[str, Any]
    # Names of the attachments passed as file inputs.
    files: list[str] = field(default_factory=list)


def _is_file(workflow: WorkflowBody, step: Step, name: str) -> bool:
    binding = step.inBindings[name]
    if binding.type == "file":
        return True
    exported = workflow.inputs.get(binding.exportName or "")
    return exported is not None and exported.type == "file"


def _is_secret(workflow: WorkflowBody, step: Step, name: str) -> bool:
    binding = step.inBindings[name]
    if binding.type == "password":
        return True
    source = workflow.inputs.get(binding.exportName or "") or workflow.variables.get(binding.exportName or "")
    if source is not None and source.type == "password":
        return True
    spec = STEP_TYPES.get(step.type)
    return bool(spec and name in spec.inputs and spec.inputs[name].secret)


def prepare_inputs(
    workflow: WorkflowBody,
    step: Step,
    values: dict[str, Any],
    attachments: dict[str, dict[str, Any]],
    masker: Masker,
) -> StepInputs:
    """Resolve the step's inputs; raise BindingError when one cannot be resolved."""
    resolved = resolve_inputs(step, values)
    final: dict[str, Any] = {}
    masked: dict[str, Any] = {}
    files: list[str] = []
    for name, value in resolved.items():
        if value is not None and _is_file(workflow, step, name):
            row = attachments.get(str(value))
            if row is None:
                raise BindingError(
                    name, f"input '{name}' names file '{value}', which is not attached to this execution"
                )
            final[name] = FileInput(row["name"], row["size"], row["blob_key"])
            masked[name] = row["name"]
            files.append(row["name"])
            continue
        final[name] = value
        secret = value is not None and _is_secret(workflow, step, name)
        masked[name] = MASK if secret else masker.value(value)
    return StepInputs(final, masked, files)
