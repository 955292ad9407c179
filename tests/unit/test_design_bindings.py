from __future__ import annotations

from typing import Any

import pytest

from stepline.design import BindingError, apply_out_bindings, resolve_inputs
from stepline.wire.workflow import Step, WorkflowBody


def _step(in_bindings: dict[str, Any] | None = None, out_bindings: dict[str, Any] | None = None) -> Step:
    return Step.model_validate(
        {"type": "JS", "inBindings": in_bindings or {}, "outBindings": out_bindings or {}}
    )


def _workflow(variables: dict[str, str], outputs: dict[str, str] | None = None) -> WorkflowBody:
    return WorkflowBody.model_validate(
        {
            "name": "w",
            "version": "1",
            "schemaVersion": "3.0",
            "variables": {name: {"type": kind} for name, kind in variables.items()},
            "outputs": {name: {"type": kind} for name, kind in (outputs or {}).items()},
        }
    )


def test_resolve_export_name() -> None:
    step = _step({"host": {"type": "string", "exportName": "address", "defaultValue": "x"}})

    assert resolve_inputs(step, {"address": "10.0.0.1"}) == {"host": "10.0.0.1"}


@pytest.mark.parametrize("values", [{}, {"address": None}], ids=["absent", "null"])
def test_resolve_falls_back_to_default(values: dict[str, Any]) -> None:
    step = _step({"port": {"type": "integer", "exportName": "address", "defaultValue": 22}})

    assert resolve_inputs(step, values) == {"port": 22}


def test_resolve_keeps_falsy_values() -> None:
    step = _step(
        {
            "count": {"type": "integer", "exportName": "zero", "defaultValue": 5},
            "flag": {"type": "boolean", "exportName": "no", "defaultValue": True},
            "text": {"type": "string", "exportName": "empty", "defaultValue": "x"},
        }
    )

    resolved = resolve_inputs(step, {"zero": 0, "no": False, "empty": ""})

    assert resolved == {"count": 0, "flag": False, "text": ""}


def test_resolve_missing_value_is_none() -> None:
    step = _step({"host": {"type": "string", "exportName": "address"}, "other": {"type": "string"}})

    assert resolve_inputs(step, {}) == {"host": None, "other": None}


def test_resolve_renders_default_template() -> None:
    step = _step({"path": {"type": "string", "defaultValue": "/tmp/{{ mode }}-{{ vnfId }}.cfg"}})

    resolved = resolve_inputs(step, {"mode": "active", "vnfId": "vnf-1"})

    assert resolved == {"path": "/tmp/active-vnf-1.cfg"}


def test_resolve_exported_text_not_rendered() -> None:
    step = _step({"text": {"type": "string", "exportName": "output"}})

    resolved = resolve_inputs(step, {"output": "{{ password }}", "password": "secret"})

    assert resolved == {"text": "{{ password }}"}


def test_resolve_non_string_default_unchanged() -> None:
    default = {"template": "{{ x }}"}
    step = _step({"body": {"type": "object", "defaultValue": default}})

    assert resolve_inputs(step, {}) == {"body": default}


@pytest.mark.parametrize(
    ("default", "words"),
    [("{{ missing }}", "unknown name 'missing'"), ("{{ x|e }}", "a filter"), ("{{ x", "invalid")],
)
def test_resolve_template_error(default: str, words: str) -> None:
    step = _step({"path": {"type": "string", "defaultValue": default}})

    with pytest.raises(BindingError) as caught:
        resolve_inputs(step, {"x": 1})

    assert caught.value.name == "path"
    assert words in caught.value.message
    assert "'path'" in str(caught.value)


def test_apply_out_bindings_splits_targets() -> None:
    step = _step(
        out_bindings={
            "result": {"name": "output", "type": "string"},
            "summary": {"name": "text"},
        }
    )
    workflow = _workflow({"result": "string"}, {"summary": "string"})

    variables, outputs = apply_out_bindings(step, {"output": "ok", "text": "done"}, workflow)

    assert variables == {"result": "ok"}
    assert outputs == {"summary": "done"}


def test_apply_out_bindings_variable_and_output() -> None:
    step = _step(out_bindings={"both": {"name": "n"}})
    workflow = _workflow({"both": "integer"}, {"both": "integer"})

    assert apply_out_bindings(step, {"n": "7"}, workflow) == ({"both": 7}, {"both": 7})


def test_apply_out_bindings_missing_output() -> None:
    step = _step(out_bindings={"result": {"name": "ouput"}})

    with pytest.raises(BindingError) as caught:
        apply_out_bindings(step, {"output": "x", "stderr": ""}, _workflow({"result": "string"}))

    assert caught.value.name == "result"
    assert "'ouput'" in caught.value.message
    assert "'output', 'stderr'" in caught.value.message


def test_apply_out_bindings_undeclared_target() -> None:
    step = _step(out_bindings={"nowhere": {"name": "output"}})

    with pytest.raises(BindingError) as caught:
        apply_out_bindings(step, {"output": "x"}, _workflow({}))

    assert caught.value.name == "nowhere"
    assert "declare it" in caught.value.message


COERCED: list[tuple[str, Any, Any]] = [
    ("integer", "2", 2),
    ("integer", " 42 ", 42),
    ("integer", 2.0, 2),
    ("integer", 7, 7),
    ("number", "2", 2),
    ("number", "2.5", 2.5),
    ("number", 3, 3),
    ("boolean", "true", True),
    ("boolean", "FALSE", False),
    ("string", 5, "5"),
    ("string", 2.5, "2.5"),
    ("string", True, "true"),
    ("password", "s3cret", "s3cret"),
    ("object", '{"a": 1}', {"a": 1}),
    ("array", "[1, 2]", [1, 2]),
    ("array", (1, 2), [1, 2]),
    ("file", "a.cfg", "a.cfg"),
    ("string", None, None),
    ("integer", None, None),
]


@pytest.mark.parametrize(("declared", "value", "expected"), COERCED)
def test_apply_out_bindings_coerces(declared: str, value: Any, expected: Any) -> None:
    step = _step(out_bindings={"target": {"name": "value"}})

    variables, _ = apply_out_bindings(step, {"value": value}, _workflow({"target": declared}))

    assert variables == {"target": expected}
    assert type(variables["target"]) is type(expected)


REJECTED: list[tuple[str, Any, str]] = [
    ("integer", 2.5, "number 2.5"),
    ("integer", "2.5", "a string"),
    ("integer", True, "boolean True"),
    ("integer", "abc", "'42'"),
    ("number", "abc", "a string"),
    ("number", "nan", "a string"),
    ("number", float("inf"), "finite"),
    ("number", False, "boolean False"),
    ("boolean", 1, "integer 1"),
    ("boolean", "yes", "'true'"),
    ("string", {"a": 1}, "object"),
    ("string", [1], "array"),
    ("object", "[1]", "an object"),
    ("object", "not json", "an object"),
    ("array", {"a": 1}, "an array"),
    ("file", 3, "attachment name"),
]


@pytest.mark.parametrize(("declared", "value", "words"), REJECTED)
def test_apply_out_bindings_rejects(declared: str, value: Any, words: str) -> None:
    step = _step(out_bindings={"target": {"name": "value"}})

    with pytest.raises(BindingError) as caught:
        apply_out_bindings(step, {"value": value}, _workflow({"target": declared}))

    assert caught.value.name == "target"
    assert f"type {declared!r}" in caught.value.message
    assert words in caught.value.message


def test_apply_out_bindings_hides_text() -> None:
    step = _step(out_bindings={"target": {"name": "value"}})

    with pytest.raises(BindingError) as caught:
        apply_out_bindings(step, {"value": "hunter2"}, _workflow({"target": "integer"}))

    assert "hunter2" not in str(caught.value)
