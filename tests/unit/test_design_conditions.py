from __future__ import annotations

from typing import Any

import pytest

from stepline.design import COMPARATORS, ConditionError, compare, next_step_id
from stepline.design import conditions as conditions_module
from stepline.wire.workflow import Step

CASES: list[tuple[str, Any, Any, bool]] = [
    # equals / different
    ("equals", "ok", "ok", True),
    ("equals", "ok", "OK", False),
    ("equals", 2, 2.0, True),
    ("equals", 2, "2", True),
    ("equals", "2.50", 2.5, True),
    ("equals", "abc", 2, False),
    ("equals", True, True, True),
    ("equals", True, 1, False),
    ("equals", 1, True, False),
    ("equals", False, "false", False),
    ("equals", None, None, True),
    ("equals", None, "", False),
    ("equals", {"a": 1}, {"a": 1}, True),
    ("equals", [1, 2], [1, 2], True),
    ("different", "a", "b", True),
    ("different", 3, "3", False),
    ("different", None, "x", True),
    # contains
    ("contains", "hello world", "o w", True),
    ("contains", "hello", "x", False),
    ("contains", "hello", 1, False),
    ("contains", ["a", "b"], "b", True),
    ("contains", [1, 2], "2", True),
    ("contains", [True], 1, False),
    ("contains", ["a"], "c", False),
    ("contains", {"key": 1}, "key", True),
    ("contains", {"key": 1}, 1, False),
    ("contains", None, "x", False),
    ("contains", 123, "2", False),
    # orderings
    ("greater", 3, 2, True),
    ("greater", 2, 2, False),
    ("greater", 2.5, 2, True),
    ("greater", "10", 9, True),
    ("greater", 10, "9", True),
    ("greater", "b", "a", True),
    ("greater", "10", "9", False),
    ("greater", None, 1, False),
    ("greater", 1, None, False),
    ("smaller", 1, 2, True),
    ("smaller", "a", "b", True),
    ("smaller", 2, 2, False),
    ("greaterOrEquals", 2, 2, True),
    ("greaterOrEquals", 1, 2, False),
    ("greaterOrEquals", "2", 2.0, True),
    ("smallerOrEquals", 2, 2, True),
    ("smallerOrEquals", 3, 2, False),
    ("smallerOrEquals", "a", "a", True),
    # isDefined
    ("isDefined", "", None, True),
    ("isDefined", 0, None, True),
    ("isDefined", False, None, True),
    ("isDefined", None, "ignored", False),
    # match
    ("match", "router-42", r"\d+", True),
    ("match", "router-42", r"^\d+$", False),
    ("match", "router-42", r"^router-\d+$", True),
    ("match", 42, r"^4", True),
    ("match", None, ".*", False),
    ("match", "ÄÖ", r"^\w+$", True),
    # isTrue / isFalse
    ("isTrue", True, None, True),
    ("isTrue", "TRUE", None, True),
    ("isTrue", " true ", None, True),
    ("isTrue", "yes", None, False),
    ("isTrue", 1, None, False),
    ("isTrue", None, None, False),
    ("isTrue", False, None, False),
    ("isFalse", False, None, True),
    ("isFalse", "False", None, True),
    ("isFalse", "", None, False),
    ("isFalse", 0, None, False),
    ("isFalse", None, None, False),
]


@pytest.mark.parametrize(("comparator", "left", "right", "expected"), CASES)
def test_compare(comparator: str, left: Any, right: Any, expected: bool) -> None:
    assert compare(comparator, left, right) is expected


def test_compare_covers_every_comparator() -> None:
    assert set(COMPARATORS) == {case[0] for case in CASES}
    assert len(COMPARATORS) == 11


@pytest.mark.parametrize(
    ("comparator", "left", "right", "words"),
    [
        ("greater", "abc", 2, "integer"),
        ("smaller", [1], [2], "array"),
        ("greaterOrEquals", True, 1, "boolean"),
        ("smallerOrEquals", {"a": 1}, "a", "object"),
    ],
)
def test_compare_unorderable_values(comparator: str, left: Any, right: Any, words: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compare(comparator, left, right)

    assert comparator in str(caught.value)
    assert words in str(caught.value)


def test_compare_unknown_comparator() -> None:
    with pytest.raises(ConditionError, match="unknown comparator 'same'"):
        compare("same", 1, 1)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [("(", "invalid regular expression"), ("a" * 1001, "1001"), (3, "must be a string")],
)
def test_match_rejects_pattern(pattern: Any, words: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compare("match", "text", pattern)

    assert words in str(caught.value)


def test_match_pattern_at_length_limit() -> None:
    assert compare("match", "a" * 1000, "a" * 1000) is True


def test_match_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conditions_module, "MATCH_TIMEOUT_SECONDS", 0.05)

    with pytest.raises(ConditionError, match="took longer than"):
        compare("match", "x" * 5000, r"(x+x+)+y")


def test_match_searches_only_first_mebibyte() -> None:
    subject = "a" * (1024 * 1024) + "needle"

    assert compare("match", subject, "needle") is False
    assert compare("match", subject, "^a+$") is True


def _branching_step(**fields: Any) -> Step:
    return Step.model_validate(
        {
            "type": "NOOP",
            "conditions": [
                {"name": "count", "comparator": "greater", "value": 10, "nextStepId": "big"},
                {"name": "count", "comparator": "greater", "value": 0, "nextStepId": "some"},
                {"name": "flag", "comparator": "isTrue", "nextStepId": "flagged"},
            ],
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"count": 11, "flag": True}, "big"),
        ({"count": 5, "flag": True}, "some"),
        ({"count": 0, "flag": "true"}, "flagged"),
        ({"count": 0, "flag": False}, "fallback"),
        ({}, "fallback"),
    ],
)
def test_next_step_first_match_wins(values: dict[str, Any], expected: str) -> None:
    step = _branching_step(nextStepId="fallback")

    assert next_step_id(step, values) == expected


def test_next_step_none_at_end() -> None:
    step = _branching_step()

    assert next_step_id(step, {"count": 0}) is None
    assert next_step_id(Step(type="NOOP"), {}) is None
