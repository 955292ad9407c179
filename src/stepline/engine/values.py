"""Corrections of input and variable values that operators send with resume, retry and PATCH."""

from __future__ import annotations

from typing import Any

from stepline.design.value_types import matches_type
from stepline.wire.workflow import Parameter

from .errors import ErrorItem, InvalidRequest
from .sealing import Sealer, seal_names


def _check(kind: str, given: Any, declared: dict[str, Any], files: set[str]) -> list[ErrorItem]:
    if not isinstance(given, dict):
        return [ErrorItem("VALIDATION_FAILED", f"/{kind}: expected an object of name to value")]
    problems = []
    for name, value in given.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            problems.append(
                ErrorItem(
                    "VALIDATION_FAILED", f"/{kind}/{name}: not declared by the workflow (declared: {known})"
                )
            )
            continue
        parameter = Parameter.model_validate(declared[name])
        if parameter.type == "file" and value is not None and value not in files:
            attached = ", ".join(sorted(files)) or "none"
            problems.append(
                ErrorItem(
                    "VALIDATION_FAILED",
                    f"/{kind}/{name}: file input names a file that is not attached (attached: {attached})",
                )
            )
        elif value is not None and not matches_type(value, parameter.type):
            problems.append(
                ErrorItem("VALIDATION_FAILED", f"/{kind}/{name}: expected a value of type {parameter.type}")
            )
    return problems


def check_value_changes(
    sealer: Sealer, row: dict[str, Any], body: dict[str, Any], files: set[str]
) -> dict[str, Any]:
    """Return the merged `assignments` and `variables` of `body`, checked against the design.

    New values of password inputs and variables are sealed.
    """
    snapshot = row["snapshot"]
    problems: list[ErrorItem] = []
    updates: dict[str, Any] = {}
    for kind, declared, column in (
        ("assignments", snapshot.get("inputs", {}), "assignments"),
        ("variables", snapshot.get("variables", {}), "variables"),
    ):
        if body.get(kind) is None:
            continue
        problems += _check(kind, body[kind], declared, files)
        secrets = {name for name, parameter in declared.items() if parameter.get("type") == "password"}
        updates[column] = {**row[column], **seal_names(sealer, body[kind], secrets)}
    if problems:
        raise InvalidRequest.many(problems)
    return updates
