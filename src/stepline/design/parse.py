"""Parsing of a submitted design: shape, legacy conversion and validation in one call."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from stepline.wire.workflow import WorkflowBody

from .convert import convert_v1
from .problems import DesignError, Problem, json_pointer
from .validate import validate_design
from .value_types import describe_value, type_name

CURRENT_SCHEMA_VERSION = "3.0"
LEGACY_SCHEMA_VERSION = "1.0"


def parse_design(data: Any) -> WorkflowBody:
    """Parse and validate a design from decoded JSON.

    A schemaVersion "1.0" design is converted to 3.0 first (see `convert.convert_v1`).
    Raises DesignError with every problem found: a body that is not an object, an
    unsupported schemaVersion, fields of the wrong shape, and every rule of
    `validate_design`. The semantic rules run only once the shape is right.
    """
    if not isinstance(data, dict):
        raise DesignError([Problem("", f"a design must be a JSON object, got {type_name(data)}")])

    problems: list[Problem] = []
    version = data.get("schemaVersion")
    if version == LEGACY_SCHEMA_VERSION:
        # NOTE: problems found after the conversion point into the converted 3.0 form
        # (/steps/<stepId>/inBindings/<name>), not into the submitted 1.0 arrays.
        data = convert_v1(data)
    elif isinstance(version, str) and version != CURRENT_SCHEMA_VERSION:
        problems.append(
            Problem(
                "/schemaVersion",
                f'unsupported schemaVersion {version!r}; use "3.0" ("1.0" designs are converted to 3.0)',
            )
        )

    try:
        workflow = WorkflowBody.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problem_from_error(error) for error in exc.errors())
        raise DesignError(problems) from exc
    if problems:
        raise DesignError(problems)

    problems = validate_design(workflow)
    if problems:
        raise DesignError(problems)
    return workflow


def _problem_from_error(error: ErrorDetails) -> Problem:
    """Turn one pydantic error into a problem.

    The message never repeats a submitted string, because a misplaced secret could be in it.
    """
    location = error["loc"]
    pointer = json_pointer(*location)
    if error["type"] == "extra_forbidden":
        return Problem(pointer, f"unknown field {location[-1]!r}; remove it or check its spelling")
    if error["type"] == "missing":
        return Problem(pointer, f"missing required field {location[-1]!r}")
    return Problem(pointer, f"invalid value: {error['msg']}; got {describe_value(error['input'])}")
