from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stepline.design import Problem, validate_design
from stepline.wire.workflow import RetryPolicy, WorkflowBody

from .design_fixtures import base_design, example_design

Design = dict[str, Any]


def _problems(design: Design) -> list[Problem]:
    return validate_design(WorkflowBody.model_validate(design))


def _key(part: str) -> str | int:
    return int(part) if part.isdigit() else part


def _parent(design: Design, path: str) -> tuple[Any, str | int]:
    """Return the container of a dotted path such as 'steps.check.conditions.0', and its last key."""
    *parents, last = path.split(".")
    target: Any = design
    for part in parents:
        target = target[_key(part)]
    return target, _key(last)


def _set(path: str, value: Any) -> Callable[[Design], None]:
    def mutate(design: Design) -> None:
        container, key = _parent(design, path)
        container[key] = value

    return mutate


def _delete(path: str) -> Callable[[Design], None]:
    def mutate(design: Design) -> None:
        container, key = _parent(design, path)
        del container[key]

    return mutate


def _add_step(step_id: str) -> Callable[[Design], None]:
    def mutate(design: Design) -> None:
        design["steps"][step_id] = {"type": "NOOP"}

    return mutate


def _add_input(name: str) -> Callable[[Design], None]:
    def mutate(design: Design) -> None:
        design["inputs"][name] = {"type": "string"}

    return mutate


RUN = "/steps/run"
CHECK_CONDITION = "/steps/check/conditions/0"

# (case id, mutation of the base design, expected pointer, words the message must contain)
CASES: list[tuple[str, Callable[[Design], None], str, list[str]]] = [
    ("start missing", _delete("startStepId"), "/startStepId", ["missing startStepId", "'run'"]),
    ("start dangling", _set("startStepId", "nope"), "/startStepId", ["'nope'", "'run'"]),
    ("next dangling", _set("steps.run.nextStepId", "nope"), f"{RUN}/nextStepId", ["'nope'"]),
    (
        "condition next dangling",
        _set("steps.check.conditions.0", {"name": "result", "comparator": "isDefined", "nextStepId": "gone"}),
        f"{CHECK_CONDITION}/nextStepId",
        ["'gone'"],
    ),
    (
        "unknown step type",
        _set("steps.check.type", "NOPE"),
        "/steps/check/type",
        ["unknown step type 'NOPE'", "known types:", "TCA_SSH"],
    ),
    (
        "unsupported step type",
        _set("steps.check.type", "K8S"),
        "/steps/check/type",
        ["step type 'K8S' is not supported yet by this server"],
    ),
    ("input type", _set("inputs.user.type", "strng"), "/inputs/user/type", ["'strng'", "string"]),
    ("variable type", _set("variables.total.type", "int"), "/variables/total/type", ["'int'"]),
    ("output type", _set("outputs.summary.type", "text"), "/outputs/summary/type", ["'text'"]),
    (
        "input default type",
        _set("inputs.count.defaultValue", "many"),
        "/inputs/count/defaultValue",
        ["'integer'"],
    ),
    (
        "in binding type",
        _set("steps.run.inBindings.host.type", "str"),
        f"{RUN}/inBindings/host/type",
        ["unknown type 'str'"],
    ),
    (
        "out binding type",
        _set("steps.run.outBindings.result.type", "txt"),
        f"{RUN}/outBindings/result/type",
        ["unknown type 'txt'"],
    ),
    (
        "export name unknown",
        _set("steps.run.inBindings.host.exportName", "hots"),
        f"{RUN}/inBindings/host/exportName",
        ["'hots'", "'host'"],
    ),
    (
        "export name is output",
        _set("steps.run.inBindings.host.exportName", "summary"),
        f"{RUN}/inBindings/host/exportName",
        ["'summary'"],
    ),
    (
        "out binding key unknown",
        _set("steps.run.outBindings", {"reslt": {"name": "output", "type": "string"}}),
        f"{RUN}/outBindings/reslt",
        ["'reslt'", "'result'"],
    ),
    (
        "out binding key is input",
        _set("steps.run.outBindings", {"user": {"name": "output", "type": "string"}}),
        f"{RUN}/outBindings/user",
        ["'user'"],
    ),
    (
        "out binding unknown step output",
        _set("steps.run.outBindings.result.name", "ouput"),
        f"{RUN}/outBindings/result/name",
        ["'ouput'", "'output'"],
    ),
    (
        "out binding type mismatch",
        _set("steps.run.outBindings.result.type", "integer"),
        f"{RUN}/outBindings/result/type",
        ["'integer'", "'string'", "'result'"],
    ),
    (
        "template unknown name",
        _set("steps.run.inBindings.script.defaultValue", "echo {{ hots }}"),
        f"{RUN}/inBindings/script/defaultValue",
        ["'hots'"],
    ),
    (
        "template forbidden filter",
        _set("steps.run.inBindings.script.defaultValue", "echo {{ host|upper }}"),
        f"{RUN}/inBindings/script/defaultValue",
        ["a filter", "not allowed"],
    ),
    (
        "template syntax",
        _set("steps.run.inBindings.script.defaultValue", "echo {{ host"),
        f"{RUN}/inBindings/script/defaultValue",
        ["invalid template"],
    ),
    (
        "condition name unknown",
        _set("steps.check.conditions.0.name", "reslt"),
        f"{CHECK_CONDITION}/name",
        ["'reslt'"],
    ),
    (
        "comparator unknown",
        _set("steps.check.conditions.0.comparator", "equal"),
        f"{CHECK_CONDITION}/comparator",
        ["'equal'", "equals", "isFalse"],
    ),
    (
        "match pattern invalid",
        _set(
            "steps.check.conditions.0",
            {"name": "result", "comparator": "match", "value": "(", "nextStepId": "done"},
        ),
        f"{CHECK_CONDITION}/value",
        ["invalid regular expression '('"],
    ),
    (
        "match pattern too long",
        _set(
            "steps.check.conditions.0",
            {"name": "result", "comparator": "match", "value": "a" * 1001, "nextStepId": "done"},
        ),
        f"{CHECK_CONDITION}/value",
        ["1001", "1000"],
    ),
    (
        "match pattern not string",
        _set(
            "steps.check.conditions.0",
            {"name": "result", "comparator": "match", "value": 5, "nextStepId": "done"},
        ),
        f"{CHECK_CONDITION}/value",
        ["must be a string", "integer"],
    ),
    (
        "binding type vs exported type",
        _set("steps.done.inBindings.anything.type", "string"),
        "/steps/done/inBindings/anything/type",
        ["'string'", "'integer'", "'count'"],
    ),
    (
        "binding type not accepted",
        _set("steps.run.inBindings.host", {"type": "integer", "exportName": "count"}),
        f"{RUN}/inBindings/host/type",
        ["'host'", "'TCA_SSH'", "'integer'"],
    ),
    (
        "file binding not accepted",
        _set("steps.run.inBindings.host", {"type": "file", "exportName": "config"}),
        f"{RUN}/inBindings/host/type",
        ["'host'", "'file'"],
    ),
    (
        "file input bound as string",
        _set("steps.run.inBindings.host", {"type": "string", "exportName": "config"}),
        f"{RUN}/inBindings/host/type",
        ["'file'", "'config'"],
    ),
    (
        "binding type wrong twice",
        _set("steps.run.inBindings.host", {"type": "integer", "exportName": "user"}),
        f"{RUN}/inBindings/host/type",
        ["'integer'", "'string'", "'user'"],
    ),
    (
        "required input unbound",
        _delete("steps.run.inBindings.host"),
        f"{RUN}/inBindings",
        ["missing required input 'host'", "'TCA_SSH'"],
    ),
    (
        "required input without value",
        _set("steps.run.inBindings.host", {"type": "string"}),
        f"{RUN}/inBindings/host",
        ["'host'", "neither exportName nor defaultValue"],
    ),
    (
        "JS script required",
        _delete("steps.done.inBindings.script"),
        "/steps/done/inBindings",
        ["missing required input 'script'", "'JS'"],
    ),
    (
        "unknown step input",
        _set("steps.run.inBindings.hots", {"type": "string", "defaultValue": "x"}),
        f"{RUN}/inBindings/hots",
        ["no input 'hots'", "'host'"],
    ),
    ("step id characters", _add_step("bad id!"), "/steps/bad id!", ["invalid step id 'bad id!'"]),
    ("step id slash escaped", _add_step("a/b"), "/steps/a~1b", ["invalid step id 'a/b'"]),
    ("step id empty", _add_step(""), "/steps/", ["invalid step id ''"]),
    ("step id too long", _add_step("s" * 129), "/steps/" + "s" * 129, ["128"]),
    ("step id digit first", _add_step("1st"), "/steps/1st", ["'1st'", "a letter or '_'"]),
    ("input name", _add_input("my input"), "/inputs/my input", ["invalid input name 'my input'"]),
    (
        "input and variable clash",
        _set("variables.host", {"type": "string"}),
        "/variables/host",
        ["'host'", "same name as an input"],
    ),
    ("timeout invalid", _set("steps.run.timeout", "5m"), f"{RUN}/timeout", ["'5m'", "PT5M"]),
    ("timeout zero", _set("steps.run.timeout", "PT0S"), f"{RUN}/timeout", ["'PT0S'", "zero"]),
    (
        "retry initial interval",
        _set("steps.run.retry.initialInterval", "1s"),
        f"{RUN}/retry/initialInterval",
        ["'1s'"],
    ),
    (
        "retry max interval",
        _set("steps.run.retry.maxInterval", "P1M"),
        f"{RUN}/retry/maxInterval",
        ["'P1M'"],
    ),
    (
        "retry max below initial",
        _set("steps.run.retry.maxInterval", "PT0.5S"),
        f"{RUN}/retry/maxInterval",
        ["'PT0.5S'", "shorter", "'PT1S'"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "pointer", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_validate_rule(mutate: Callable[[Design], None], pointer: str, words: list[str]) -> None:
    design = base_design()
    mutate(design)

    problems = _problems(design)

    assert [problem.pointer for problem in problems] == [pointer]
    for word in words:
        assert word in problems[0].message
    assert problems[0].code == "VALIDATION_FAILED"


def test_validate_base_design_clean() -> None:
    assert _problems(base_design()) == []


def test_validate_example_design_clean() -> None:
    assert _problems(example_design()) == []


def _remove_steps(design: Design) -> None:
    design["steps"] = {}
    del design["startStepId"]


def _store_integer_in_number(design: Design) -> None:
    design["variables"]["total"]["type"] = "number"
    design["steps"]["run"]["outBindings"] = {"total": {"name": "exitCode", "type": "integer"}}


ACCEPTED: list[tuple[str, Callable[[Design], None]]] = [
    (
        "password where string",
        _set("steps.run.inBindings.host", {"type": "password", "exportName": "secret"}),
    ),
    ("string into password", _set("steps.run.inBindings.password", {"type": "string", "exportName": "user"})),
    ("context variable", _set("steps.run.inBindings.host.exportName", "vnfId")),
    ("context in template", _set("steps.run.inBindings.script.defaultValue", "{{ nsId }}")),
    ("template field", _set("steps.run.inBindings.script.defaultValue", "{{ host.name }}")),
    ("file script", _set("steps.run.inBindings.script", {"type": "file", "exportName": "config"})),
    ("js any input name", _set("steps.done.inBindings.weird-name", {"type": "object"})),
    ("condition on input", _set("steps.check.conditions.0.name", "count")),
    ("self loop", _set("steps.check.nextStepId", "check")),
    ("no steps", _remove_steps),
    ("integer into number", _store_integer_in_number),
    ("fraction retry", _set("steps.run.retry.initialInterval", "PT0.5S")),
]


@pytest.mark.parametrize("mutate", [case[1] for case in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_validate_accepts(mutate: Callable[[Design], None]) -> None:
    design = base_design()
    mutate(design)

    assert _problems(design) == []


def test_validate_reports_every_problem() -> None:
    design = base_design()
    design["startStepId"] = "nope"
    design["steps"]["run"]["nextStepId"] = "gone"
    design["steps"]["check"]["type"] = "NOPE"

    pointers = {problem.pointer for problem in _problems(design)}

    assert pointers == {"/startStepId", f"{RUN}/nextStepId", "/steps/check/type"}


def test_validate_retry_max_attempts() -> None:
    workflow = WorkflowBody.model_validate(base_design())
    workflow.steps["run"].retry = RetryPolicy.model_construct(
        maxAttempts=0, initialInterval="PT1S", backoffCoefficient=2.0, maxInterval=None
    )

    problems = validate_design(workflow)

    assert [problem.pointer for problem in problems] == [f"{RUN}/retry/maxAttempts"]
    assert "at least 1" in problems[0].message


def test_validate_unknown_input_and_mismatch() -> None:
    design = base_design()
    design["steps"]["run"]["inBindings"]["hots"] = {"type": "integer", "exportName": "user"}

    pointers = [problem.pointer for problem in _problems(design)]

    assert pointers == [f"{RUN}/inBindings/hots/type", f"{RUN}/inBindings/hots"]
