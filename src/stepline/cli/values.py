"""`name=value` options turned into the JSON values of a request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import fail
from .uploads import check_files

# Values of these types are taken as the text after `=`; the others are JSON.
TEXT_TYPES = frozenset({"string", "password", "file"})


def split_pair(pair: str, option: str, form: str = "name=value") -> tuple[str, str]:
    name, separator, value = pair.partition("=")
    if not separator or not name:
        fail(f"invalid {option} {pair!r}: use {form}")
    return name, value


def typed_values(pairs: list[str], declared: dict[str, Any], option: str) -> dict[str, Any]:
    """Turn `name=value` pairs into values typed by the design's declared parameters.

    A `string`, `password` or `file` parameter, or a name the design does not declare,
    takes the text as it is. Any other type takes JSON: `n=3`, `on=true`,
    `hosts=["a","b"]`. The server checks the names and types, so an undeclared name is
    sent as text and rejected there with the design's parameter names.
    """
    values: dict[str, Any] = {}
    for pair in pairs:
        name, text = split_pair(pair, option)
        declared_type = (declared.get(name) or {}).get("type", "string")
        if declared_type in TEXT_TYPES:
            values[name] = text
            continue
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            fail(f"invalid {option} {name}: {text!r} is not a valid {declared_type} (write it as JSON)")
    return values


def json_values(pairs: list[str], option: str) -> dict[str, Any]:
    """Turn `name=value` pairs into values: JSON when the text parses as JSON, else the text."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, text = split_pair(pair, option)
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            values[name] = text
    return values


def file_inputs(pairs: list[str], option: str = "--file") -> list[tuple[str, Path]]:
    """Turn `name=PATH` pairs into (input name, path) with existing, readable files."""
    files = []
    for pair in pairs:
        name, path = split_pair(pair, option, "name=PATH")
        files.append((name, Path(path)))
    check_files([path for _, path in files], option)
    return files


def read_json_file(path: Path, description: str) -> Any:
    """Read a JSON document from a file, or exit with the usage code saying why it failed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {description} {str(path)!r}: {exc.strerror}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"invalid {description} {str(path)!r}: not UTF-8 JSON ({exc})")
