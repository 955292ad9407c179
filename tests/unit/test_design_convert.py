from __future__ import annotations

from typing import Any

import pytest

from stepline.design import DesignError, convert_v1


def _legacy(steps: Any, **fields: Any) -> dict[str, Any]:
    return {"name": "Legacy", "version": "1", "schemaVersion": "1.0", "steps": steps, **fields}


def test_convert_full_step() -> None:
    data = _legacy(
        [
            {
                "stepId": "apply",
                "type": "TCA_SSH",
                "description": "Apply",
                "inBinding": [
                    {"name": "host", "type": "string", "exportName": "host"},
                    {"name": "script", "type": "string", "defaultValue": "ls"},
                ],
                "outBinding": [{"name": "output", "type": "string", "exportName": "result"}],
                "nextStep": "check",
                "conditions": [
                    {"name": "result", "comparator": "equals", "value": "ok", "nextStep": "check"}
                ],
                "timeout": "PT1M",
                "retry": {"maxAttempts": 2},
            },
            {"stepId": "check", "type": "NOOP", "nextStep": "END"},
        ],
        inputs={"host": {"type": "string"}},
        variables={"result": {"type": "string"}},
    )

    converted = convert_v1(data)

    assert converted["schemaVersion"] == "3.0"
    assert converted["startStepId"] == "apply"
    assert converted["inputs"] == {"host": {"type": "string"}}
    assert converted["variables"] == {"result": {"type": "string"}}
    assert converted["steps"]["apply"] == {
        "type": "TCA_SSH",
        "description": "Apply",
        "timeout": "PT1M",
        "retry": {"maxAttempts": 2},
        "inBindings": {
            "host": {"type": "string", "exportName": "host"},
            "script": {"type": "string", "defaultValue": "ls"},
        },
        "outBindings": {"result": {"name": "output", "type": "string"}},
        "conditions": [{"name": "result", "comparator": "equals", "value": "ok", "nextStepId": "check"}],
        "nextStepId": "check",
    }
    assert converted["steps"]["check"] == {
        "type": "NOOP",
        "inBindings": {},
        "outBindings": {},
        "conditions": [],
    }


def test_convert_keeps_input_unchanged() -> None:
    data = _legacy([{"stepId": "a", "type": "NOOP"}])

    convert_v1(data)

    assert data["schemaVersion"] == "1.0"
    assert isinstance(data["steps"], list)


@pytest.mark.parametrize("next_step", [None, "END"])
def test_convert_end_means_no_next(next_step: str | None) -> None:
    converted = convert_v1(_legacy([{"stepId": "a", "type": "NOOP", "nextStep": next_step}]))

    assert "nextStepId" not in converted["steps"]["a"]


def test_convert_keeps_start_step() -> None:
    steps = [{"stepId": "a", "type": "NOOP"}, {"stepId": "b", "type": "NOOP"}]

    converted = convert_v1(_legacy(steps, startStepId="b"))

    assert converted["startStepId"] == "b"


def test_convert_no_steps() -> None:
    converted = convert_v1({"name": "L", "version": "1", "schemaVersion": "1.0"})

    assert converted["steps"] == {}
    assert "startStepId" not in converted


def test_convert_condition_to_end() -> None:
    condition = {"name": "x", "comparator": "isTrue", "nextStep": "END"}
    steps = [
        {"stepId": "a", "type": "NOOP", "conditions": [condition]},
        {"stepId": "END", "type": "NOOP"},
    ]

    converted = convert_v1(_legacy(steps))

    assert converted["steps"]["a"]["conditions"][0]["nextStepId"] == "END_"
    assert converted["steps"]["END_"]["type"] == "NOOP"
    assert converted["steps"]["END"] == {
        "type": "NOOP",
        "inBindings": {},
        "outBindings": {},
        "conditions": [],
    }


def test_convert_condition_next_step_id() -> None:
    condition = {"name": "x", "comparator": "isTrue", "nextStepId": "a"}

    converted = convert_v1(_legacy([{"stepId": "a", "type": "NOOP", "conditions": [condition]}]))

    assert converted["steps"]["a"]["conditions"] == [{"name": "x", "comparator": "isTrue", "nextStepId": "a"}]


MALFORMED: list[tuple[str, Any, list[str], str]] = [
    ("steps not array", {"a": {}}, ["/steps"], "array"),
    ("step not object", ["a"], ["/steps/0"], "object"),
    ("missing step id", [{"type": "NOOP"}], ["/steps/0/stepId"], "missing required field"),
    ("empty step id", [{"stepId": "", "type": "NOOP"}], ["/steps/0/stepId"], "non-empty"),
    (
        "duplicate step id",
        [{"stepId": "a", "type": "NOOP"}, {"stepId": "a", "type": "NOOP"}],
        ["/steps/1/stepId"],
        "duplicate stepId 'a'",
    ),
    (
        "unknown step field",
        [{"stepId": "a", "type": "NOOP", "next": "b"}],
        ["/steps/0/next"],
        "unknown field 'next'",
    ),
    (
        "in binding not array",
        [{"stepId": "a", "type": "NOOP", "inBinding": {"x": {}}}],
        ["/steps/0/inBinding"],
        "array",
    ),
    (
        "in binding not object",
        [{"stepId": "a", "type": "NOOP", "inBinding": ["x"]}],
        ["/steps/0/inBinding/0"],
        "object",
    ),
    (
        "in binding without name",
        [{"stepId": "a", "type": "NOOP", "inBinding": [{"type": "string"}]}],
        ["/steps/0/inBinding/0/name"],
        "'name'",
    ),
    (
        "in binding duplicate",
        [{"stepId": "a", "type": "NOOP", "inBinding": [{"name": "x", "type": "string"}] * 2}],
        ["/steps/0/inBinding/1/name"],
        "'x'",
    ),
    (
        "in binding unknown field",
        [{"stepId": "a", "type": "NOOP", "inBinding": [{"name": "x", "type": "s", "src": 1}]}],
        ["/steps/0/inBinding/0/src"],
        "unknown field 'src'",
    ),
    (
        "out binding without export",
        [{"stepId": "a", "type": "NOOP", "outBinding": [{"name": "x"}]}],
        ["/steps/0/outBinding/0/exportName"],
        "'exportName'",
    ),
    (
        "out binding duplicate",
        [{"stepId": "a", "type": "NOOP", "outBinding": [{"name": "x", "exportName": "v"}] * 2}],
        ["/steps/0/outBinding/1/exportName"],
        "'v'",
    ),
    (
        "next step not text",
        [{"stepId": "a", "type": "NOOP", "nextStep": 3}],
        ["/steps/0/nextStep"],
        "END",
    ),
    (
        "condition without target",
        [{"stepId": "a", "type": "NOOP", "conditions": [{"name": "x", "comparator": "isTrue"}]}],
        ["/steps/0/conditions/0/nextStep"],
        "'nextStep'",
    ),
    (
        "condition both targets",
        [
            {
                "stepId": "a",
                "type": "NOOP",
                "conditions": [{"name": "x", "comparator": "isTrue", "nextStep": "a", "nextStepId": "a"}],
            }
        ],
        ["/steps/0/conditions/0/nextStepId"],
        "not both",
    ),
    (
        "escaped binding field",
        [{"stepId": "a", "type": "NOOP", "inBinding": [{"name": "x", "type": "s", "a/b": 1}]}],
        ["/steps/0/inBinding/0/a~1b"],
        "'a/b'",
    ),
]


@pytest.mark.parametrize(
    ("steps", "pointers", "words"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_convert_malformed(steps: Any, pointers: list[str], words: str) -> None:
    with pytest.raises(DesignError) as caught:
        convert_v1(_legacy(steps))

    problems = caught.value.problems
    assert [problem.pointer for problem in problems] == pointers
    assert words in problems[0].message


def test_convert_reports_every_problem() -> None:
    steps = [{"type": "NOOP"}, "x", {"stepId": "b", "type": "NOOP", "nextStep": 1}]

    with pytest.raises(DesignError) as caught:
        convert_v1(_legacy(steps))

    pointers = [problem.pointer for problem in caught.value.problems]
    assert pointers == ["/steps/0/stepId", "/steps/1", "/steps/2/nextStep"]
