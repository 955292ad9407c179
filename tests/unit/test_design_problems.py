from __future__ import annotations

import pytest

from stepline.design import json_pointer
from stepline.design.problems import quote_names
from stepline.design.value_types import accepts_type, is_assignable


@pytest.mark.parametrize(
    ("parts", "pointer"),
    [
        ((), ""),
        (("steps", "apply", "nextStepId"), "/steps/apply/nextStepId"),
        (("steps", "a/b", "conditions", 0), "/steps/a~1b/conditions/0"),
        (("inputs", "x~y"), "/inputs/x~0y"),
        (("inputs", "~/"), "/inputs/~0~1"),
        (("steps", ""), "/steps/"),
    ],
)
def test_json_pointer(parts: tuple[str | int, ...], pointer: str) -> None:
    assert json_pointer(*parts) == pointer


def test_quote_names() -> None:
    assert quote_names(["b", "a"]) == "'a', 'b'"
    assert quote_names([]) == "none"
    assert quote_names([f"n{i:02}" for i in range(25)], limit=2) == "'n00', 'n01', ..."


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("string", "string", True),
        ("password", "string", True),
        ("string", "password", True),
        ("integer", "number", True),
        ("number", "integer", False),
        ("file", "string", False),
        ("string", "file", False),
        ("boolean", "string", False),
    ],
)
def test_is_assignable(source: str, target: str, expected: bool) -> None:
    assert is_assignable(source, target) is expected


@pytest.mark.parametrize(
    ("accepted", "binding_type", "expected"),
    [
        ({"string"}, "string", True),
        ({"string"}, "password", True),
        ({"password"}, "string", False),
        ({"string"}, "file", False),
        ({"string", "file"}, "file", True),
        ({"file"}, "string", False),
    ],
)
def test_accepts_type(accepted: set[str], binding_type: str, expected: bool) -> None:
    assert accepts_type(accepted, binding_type) is expected
