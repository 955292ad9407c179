"""Values that cannot be stored as JSON are recognised before they reach a database."""

from __future__ import annotations

import pytest

from stepline.wire.values import json_problem


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (nested(65), "deeper than 64"),
        ({"a": float("nan")}, "NaN"),
        ([float("inf")], "infinite"),
        ("a\x00b", "NUL"),
        ({"k\x00": 1}, "NUL"),
        ("\ud800", "surrogate"),
    ],
)
def test_bad_values_are_named(value: object, fragment: str) -> None:
    problem = json_problem(value)

    assert problem is not None
    assert fragment in problem


@pytest.mark.parametrize("value", [nested(64), {"a": [1, 2.5, "x", None, True]}, "été ✓", {}])
def test_good_values_pass(value: object) -> None:
    assert json_problem(value) is None
