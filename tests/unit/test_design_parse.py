from __future__ import annotations

from typing import Any

import pytest

from stepline.design import DesignError, Problem, parse_design
from stepline.wire.workflow import WorkflowBody

from .design_fixtures import base_design, example_design


def _parse_problems(data: Any) -> list[Problem]:
    with pytest.raises(DesignError) as caught:
        parse_design(data)
    return caught.value.problems


def test_parse_example_design() -> None:
    workflow = parse_design(example_design())

    assert isinstance(workflow, WorkflowBody)
    assert workflow.startStepId == "copyConfig"
    assert set(workflow.steps) == {"copyConfig", "applyConfig", "countChanges", "nothingChanged", "report"}


@pytest.mark.parametrize(
    ("data", "kind"),
    [([], "array"), ("design", "string"), (None, "null"), (3, "integer")],
)
def test_parse_rejects_non_object(data: Any, kind: str) -> None:
    problems = _parse_problems(data)

    assert [problem.pointer for problem in problems] == [""]
    assert "JSON object" in problems[0].message
    assert kind in problems[0].message


def test_parse_unknown_field() -> None:
    design = base_design()
    design["steps"]["run"]["nextStep"] = "check"

    problems = _parse_problems(design)

    assert [problem.pointer for problem in problems] == ["/steps/run/nextStep"]
    assert "unknown field 'nextStep'" in problems[0].message


def test_parse_missing_field() -> None:
    design = base_design()
    del design["steps"]["check"]["conditions"][0]["nextStepId"]

    problems = _parse_problems(design)

    assert [problem.pointer for problem in problems] == ["/steps/check/conditions/0/nextStepId"]
    assert "missing required field 'nextStepId'" in problems[0].message


def test_parse_wrong_shape_hides_value() -> None:
    design = base_design()
    design["steps"]["run"]["inBindings"]["password"] = "hunter2"

    problems = _parse_problems(design)

    assert [problem.pointer for problem in problems] == ["/steps/run/inBindings/password"]
    assert "string" in problems[0].message
    assert "hunter2" not in problems[0].message


def test_parse_collects_all_shape_problems() -> None:
    design = base_design()
    del design["name"]
    design["colour"] = "blue"
    design["steps"]["run"]["retry"]["maxAttempts"] = 0

    pointers = {problem.pointer for problem in _parse_problems(design)}

    assert pointers == {"/name", "/colour", "/steps/run/retry/maxAttempts"}


def test_parse_runs_semantic_rules() -> None:
    design = base_design()
    design["startStepId"] = "nope"
    design["steps"]["run"]["nextStepId"] = "gone"

    pointers = [problem.pointer for problem in _parse_problems(design)]

    assert pointers == ["/startStepId", "/steps/run/nextStepId"]


@pytest.mark.parametrize("version", ["2.0", "3", "4.0"])
def test_parse_rejects_schema_version(version: str) -> None:
    design = base_design()
    design["schemaVersion"] = version

    problems = _parse_problems(design)

    assert [problem.pointer for problem in problems] == ["/schemaVersion"]
    assert repr(version) in problems[0].message
    assert '"3.0"' in problems[0].message


def test_parse_schema_version_with_shape_problem() -> None:
    design = base_design()
    design["schemaVersion"] = "2.0"
    design["colour"] = "blue"

    pointers = [problem.pointer for problem in _parse_problems(design)]

    assert pointers == ["/schemaVersion", "/colour"]


def test_parse_missing_schema_version() -> None:
    design = base_design()
    del design["schemaVersion"]

    problems = _parse_problems(design)

    assert [problem.pointer for problem in problems] == ["/schemaVersion"]
    assert "missing required field" in problems[0].message


def test_parse_converts_version_1() -> None:
    legacy = {
        "name": "Legacy",
        "version": "1",
        "schemaVersion": "1.0",
        "inputs": {"host": {"type": "string"}},
        "steps": [
            {
                "stepId": "first",
                "type": "NOOP",
                "nextStep": "second",
            },
            {
                "stepId": "second",
                "type": "JS",
                "inBinding": [
                    {"name": "script", "type": "string", "defaultValue": "return {};"},
                    {"name": "target", "type": "string", "exportName": "host"},
                ],
                "nextStep": "END",
            },
        ],
    }

    workflow = parse_design(legacy)

    assert workflow.schemaVersion == "3.0"
    assert workflow.startStepId == "first"
    assert workflow.steps["first"].nextStepId == "second"
    assert workflow.steps["second"].nextStepId is None
    assert workflow.steps["second"].inBindings["target"].exportName == "host"


def test_parse_version_1_malformed() -> None:
    legacy = {"name": "L", "version": "1", "schemaVersion": "1.0", "steps": [{"type": "NOOP"}]}

    problems = _parse_problems(legacy)

    assert [problem.pointer for problem in problems] == ["/steps/0/stepId"]


def test_design_error_message_lists_problems() -> None:
    error = DesignError([Problem("/a", "first"), Problem("", "second")])

    assert str(error) == "/a: first; /: second"
