"""Condition comparators and the choice of a step's next step."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import regex

from stepline.wire.workflow import Step

from .value_types import type_name

MAX_PATTERN_LENGTH = 1000
MAX_MATCH_SUBJECT_CHARS = 1024 * 1024
MATCH_TIMEOUT_SECONDS = 1.0


class ConditionError(ValueError):
    """A condition that cannot be evaluated.

    The comparator is unknown, the pattern is invalid or too slow, or the values cannot
    be ordered.
    """


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _comparable_pair(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Return the two values in a form that can be ordered, or None.

    Numbers compare as numbers, strings as strings, and a number with a numeric string
    as numbers. Booleans are not numbers here.
    """
    if _is_number(left) and _is_number(right):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    if _is_number(left) and isinstance(right, str) and _as_number(right) is not None:
        return left, _as_number(right)
    if isinstance(left, str) and _is_number(right) and _as_number(left) is not None:
        return _as_number(left), right
    return None


def _equals(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    pair = _comparable_pair(left, right)
    if pair is not None:
        return bool(pair[0] == pair[1])
    return bool(left == right)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple):
        return any(_equals(element, item) for element in container)
    if isinstance(container, Mapping):
        return isinstance(item, str) and item in container
    return False


def _ordering(test: Callable[[Any, Any], bool], comparator: str) -> Callable[[Any, Any], bool]:
    def compare_ordered(left: Any, right: Any) -> bool:
        if left is None or right is None:
            return False
        pair = _comparable_pair(left, right)
        if pair is None:
            raise ConditionError(
                f"cannot compare a value of type {type_name(left)} with one of type "
                f"{type_name(right)} using {comparator!r}: use two numbers or two strings"
            )
        return test(*pair)

    return compare_ordered


def _truth(value: Any) -> bool | None:
    """Return True or False for a boolean or a 'true'/'false' string (any case), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def check_pattern(pattern: Any) -> regex.Pattern[str]:
    """Compile a `match` pattern.

    Raises ConditionError when the pattern is not a string, is too long or is invalid.
    """
    if not isinstance(pattern, str):
        raise ConditionError(f"the pattern of 'match' must be a string, got {type_name(pattern)}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ConditionError(
            f"the pattern of 'match' has {len(pattern)} characters; the maximum is {MAX_PATTERN_LENGTH}"
        )
    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise ConditionError(f"invalid regular expression {pattern!r}: {exc}") from exc


def _match(subject: Any, pattern: Any) -> bool:
    """Search `pattern` anywhere in the subject. Anchor it with ^ and $ to match the whole value."""
    compiled = check_pattern(pattern)
    if subject is None:
        return False
    text = subject if isinstance(subject, str) else str(subject)
    # Only the first MiB of a long value is searched, which bounds the work of one match.
    text = text[:MAX_MATCH_SUBJECT_CHARS]
    try:
        return compiled.search(text, timeout=MATCH_TIMEOUT_SECONDS) is not None
    except TimeoutError as exc:
        raise ConditionError(
            f"regular expression {pattern!r} took longer than {MATCH_TIMEOUT_SECONDS} s; "
            "simplify it, e.g. avoid nested repetition such as (a+)+"
        ) from exc


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _equals,
    "different": lambda left, right: not _equals(left, right),
    "contains": _contains,
    "greater": _ordering(lambda a, b: a > b, "greater"),
    "smaller": _ordering(lambda a, b: a < b, "smaller"),
    "greaterOrEquals": _ordering(lambda a, b: a >= b, "greaterOrEquals"),
    "smallerOrEquals": _ordering(lambda a, b: a <= b, "smallerOrEquals"),
    "isDefined": lambda left, _right: left is not None,
    "match": _match,
    "isTrue": lambda left, _right: _truth(left) is True,
    "isFalse": lambda left, _right: _truth(left) is False,
}

# The eleven comparators of TCA conditions, in the order of the documentation.
COMPARATORS = tuple(_COMPARISONS)


def compare(comparator: str, left: Any, right: Any) -> bool:
    """Apply a comparator to the condition's variable (`left`) and its `value` (`right`).

    `equals`/`different` treat a number and a numeric string as equal numbers, and a
    boolean equals only a boolean. `contains` finds a substring in a string, an element
    in a list or a key in an object. The four orderings compare numbers, strings, or a
    number with a numeric string, and are false when either side is null. `match`
    searches a regular expression in the text of `left`. `isTrue`/`isFalse` accept
    booleans and the strings "true"/"false" in any case. `isDefined` ignores `right`.
    Raises ConditionError for an unknown comparator, values that cannot be ordered, or a
    pattern that is invalid, too long or too slow.
    """
    comparison = _COMPARISONS.get(comparator)
    if comparison is None:
        raise ConditionError(f"unknown comparator {comparator!r}; use one of: {', '.join(COMPARATORS)}")
    return comparison(left, right)


def next_step_id(step: Step, values: Mapping[str, Any]) -> str | None:
    """Choose the step that follows `step`.

    Returns the target of the first condition that is true, else `nextStepId`, else None
    (the execution ends).

    `values` contains the workflow inputs, variables and context values by name. Raises
    ConditionError like `compare`.
    """
    for condition in step.conditions:
        if compare(condition.comparator, values.get(condition.name), condition.value):
            return condition.nextStepId
    return step.nextStepId
