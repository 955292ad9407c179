"""The parameter types of designs: which values fit a type, lossless coercion, compatibility.

Types are those of `catalog.VALUE_TYPES`. `password` values are strings that are kept
secret, and `file` values are attachment names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

# Context values of an execution (`context.vnfId`, `context.nsId`) that designs can read
# like variables of type string.
CONTEXT_VARIABLES = frozenset({"vnfId", "nsId"})

_TEXT_TYPES = frozenset({"string", "password"})


def type_name(value: Any) -> str:
    """Return the JSON type name of a value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def describe_value(value: Any) -> str:
    """Describe a value for an error message.

    Numbers and booleans are shown in full. Strings and containers are described by their
    type only, because they may contain a secret.
    """
    if isinstance(value, bool | int | float):
        return f"{type_name(value)} {value!r}"
    if isinstance(value, str):
        return "a string"
    return f"a value of type {type_name(value)}"


def matches_type(value: Any, value_type: str) -> bool:
    """Return whether a non-null value fits the type without conversion.

    A `file` value must be a string (an attachment name), and the caller checks that the
    attachment exists. An unknown type accepts nothing.
    """
    if value_type in _TEXT_TYPES or value_type == "file":
        return isinstance(value, str)
    if value_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if value_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if value_type == "boolean":
        return isinstance(value, bool)
    if value_type == "object":
        return isinstance(value, dict)
    if value_type == "array":
        return isinstance(value, list)
    return False


def is_assignable(source: str, target: str) -> bool:
    """Return whether a value declared as `source` may be used where `target` is declared.

    Equal types fit, `string` and `password` fit each other, and an integer is a number.
    """
    if source == target:
        return True
    if source in _TEXT_TYPES and target in _TEXT_TYPES:
        return True
    return source == "integer" and target == "number"


def accepts_type(accepted: Iterable[str], binding_type: str) -> bool:
    """Return whether a step input that accepts `accepted` types takes a `binding_type` value.

    `password` is accepted wherever `string` is.
    """
    accepted_set = set(accepted)
    if binding_type in accepted_set:
        return True
    return binding_type == "password" and "string" in accepted_set


def coerce(value: Any, value_type: str | None) -> Any:
    """Convert a value to the type when no information is lost, e.g. "2" or 2.0 to 2 for integer.

    None stays None, and an unknown or absent type leaves the value unchanged. Raises
    ValueError saying what was expected when the value cannot be converted losslessly.
    """
    if value is None or value_type is None or matches_type(value, value_type):
        if value_type == "number" and isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value}")
        return value

    converter = _CONVERTERS.get(value_type)
    if converter is None:
        return value
    return converter(value)


def _to_integer(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected an integer or a string such as '42', got {describe_value(value)}")


def _to_number(value: Any) -> int | float:
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return number
    raise ValueError(f"expected a number or a string such as '4.2', got {describe_value(value)}")


def _to_boolean(value: Any) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"expected a boolean or the string 'true' or 'false', got {describe_value(value)}")


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"expected a string, a number or a boolean, got {describe_value(value)}")


def _from_json(expected: type, type_label: str) -> Any:
    def convert(value: Any) -> Any:
        if isinstance(value, tuple) and expected is list:
            return list(value)
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, expected):
                return parsed
        raise ValueError(f"expected {type_label} or its JSON text, got {describe_value(value)}")

    return convert


def _to_file_name(value: Any) -> str:
    raise ValueError(f"expected an attachment name (a string), got {describe_value(value)}")


_CONVERTERS = {
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "string": _to_text,
    "password": _to_text,
    "file": _to_file_name,
    "object": _from_json(dict, "an object"),
    "array": _from_json(list, "an array"),
}
