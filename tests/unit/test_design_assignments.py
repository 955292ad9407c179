from __future__ import annotations

from typing import Any

import pytest

from stepline.design import Problem, check_assignments, secret_names
from stepline.wire.workflow import WorkflowBody

from .design_fixtures import example_design

UPLOADED = {"a.cfg", "b.sh"}


def _workflow(inputs: dict[str, Any]) -> WorkflowBody:
    return WorkflowBody.model_validate(
        {"name": "w", "version": "1", "schemaVersion": "3.0", "inputs": inputs}
    )


def _check(inputs: dict[str, Any], assignments: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    return check_assignments(_workflow(inputs), assignments, UPLOADED)


def test_assignments_example_design() -> None:
    workflow = WorkflowBody.model_validate(example_design())
    assignments = {
        "host": "10.0.0.1",
        "username": "admin",
        "password": "s3cret",
        "config": "a.cfg",
        "applyScript": "b.sh",
    }

    values, problems = check_assignments(workflow, assignments, UPLOADED)

    assert problems == []
    assert values == {**assignments, "mode": "active"}


def test_assignments_unknown_input() -> None:
    _, problems = _check({"host": {"type": "string"}}, {"hots": "x", "a/b": 1})

    assert [problem.pointer for problem in problems] == ["/assignments/hots", "/assignments/a~1b"]
    assert "unknown input 'hots'" in problems[0].message
    assert "'host'" in problems[0].message


@pytest.mark.parametrize("assignments", [{}, {"host": None}], ids=["absent", "null"])
def test_assignments_missing_required(assignments: dict[str, Any]) -> None:
    values, problems = _check({"host": {"type": "string", "required": True}}, assignments)

    assert [problem.pointer for problem in problems] == ["/assignments/host"]
    assert problems[0].message == "missing required input 'host'"
    assert values == {}


def test_assignments_required_with_default() -> None:
    inputs = {"port": {"type": "integer", "required": True, "defaultValue": 22}}

    values, problems = _check(inputs, {})

    assert problems == []
    assert values == {"port": 22}


def test_assignments_value_overrides_default() -> None:
    values, problems = _check({"port": {"type": "integer", "defaultValue": 22}}, {"port": 2222})

    assert problems == []
    assert values == {"port": 2222}


def test_assignments_optional_without_value_omitted() -> None:
    values, problems = _check({"note": {"type": "string"}}, {})

    assert problems == []
    assert values == {}


ACCEPTED: list[tuple[str, Any]] = [
    ("string", "x"),
    ("string", ""),
    ("password", "secret"),
    ("integer", 3),
    ("integer", -1),
    ("number", 3),
    ("number", 2.5),
    ("boolean", False),
    ("object", {"a": 1}),
    ("array", [1, "a"]),
    ("file", "a.cfg"),
]


@pytest.mark.parametrize(("input_type", "value"), ACCEPTED)
def test_assignments_accepts_type(input_type: str, value: Any) -> None:
    values, problems = _check({"x": {"type": input_type}}, {"x": value})

    assert problems == []
    assert values == {"x": value}


REJECTED: list[tuple[str, Any, str]] = [
    ("string", 3, "integer"),
    ("password", 3, "integer"),
    ("integer", True, "boolean"),
    ("integer", 2.5, "number"),
    ("integer", "2", "string"),
    ("number", False, "boolean"),
    ("number", "2.5", "string"),
    ("boolean", "true", "string"),
    ("boolean", 1, "integer"),
    ("object", [1], "array"),
    ("array", {"a": 1}, "object"),
    ("file", 5, "integer"),
]


@pytest.mark.parametrize(("input_type", "value", "got"), REJECTED)
def test_assignments_rejects_type(input_type: str, value: Any, got: str) -> None:
    _, problems = _check({"x": {"type": input_type}}, {"x": value})

    assert [problem.pointer for problem in problems] == ["/assignments/x"]
    assert "input 'x'" in problems[0].message
    assert f"got a value of type {got}" in problems[0].message


def test_assignments_file_not_uploaded() -> None:
    _, problems = _check({"config": {"type": "file"}}, {"config": "x"})

    assert [problem.pointer for problem in problems] == ["/assignments/config"]
    assert problems[0].message == (
        "file input 'config' names 'x', which is not among the uploaded files: a.cfg, b.sh"
    )


def test_assignments_file_without_uploads() -> None:
    workflow = _workflow({"config": {"type": "file"}})

    _, problems = check_assignments(workflow, {"config": "a.cfg"}, set())

    assert "none" in problems[0].message


def test_assignments_invalid_default() -> None:
    _, problems = _check({"config": {"type": "file", "defaultValue": "missing.cfg"}}, {})

    assert [problem.pointer for problem in problems] == ["/assignments/config"]
    assert "'missing.cfg'" in problems[0].message
    assert "defaultValue" in problems[0].message


def test_assignments_every_problem() -> None:
    inputs = {"a": {"type": "string", "required": True}, "b": {"type": "integer"}}

    _, problems = _check(inputs, {"b": "x", "c": 1})

    pointers = sorted(problem.pointer for problem in problems)
    assert pointers == ["/assignments/a", "/assignments/b", "/assignments/c"]


def test_secret_names() -> None:
    workflow = WorkflowBody.model_validate(
        {
            "name": "w",
            "version": "1",
            "schemaVersion": "3.0",
            "inputs": {"password": {"type": "password"}, "user": {"type": "string"}},
            "variables": {"token": {"type": "password"}, "count": {"type": "integer"}},
            "outputs": {"apiKey": {"type": "password"}, "summary": {"type": "string"}},
        }
    )

    assert secret_names(workflow) == {"password", "token", "apiKey"}
