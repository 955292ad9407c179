"""An uploaded design shown as indented JSON lines, with each problem under the line it concerns.

Problems carry RFC 6901 JSON pointers. A problem is shown under the line of the value its
pointer names. A pointer to a member that is absent (a missing required field) is shown
under the nearest enclosing object that exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stepline.design import Problem, json_pointer


@dataclass
class Line:
    """One line of the indented document."""

    depth: int
    text: str
    pointer: str
    problems: list[str] = field(default_factory=list)
    number: int = 0

    @property
    def anchor(self) -> str:
        return f"line-{self.number}"

    @property
    def indented(self) -> str:
        return "  " * self.depth + self.text


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _walk(value: Any, pointer: str, depth: int, prefix: str, suffix: str, lines: list[Line]) -> None:
    if isinstance(value, dict) and value:
        lines.append(Line(depth, prefix + "{", pointer))
        items = list(value.items())
        for index, (key, item) in enumerate(items):
            comma = "," if index < len(items) - 1 else ""
            _walk(item, pointer + json_pointer(key), depth + 1, f"{_scalar(key)}: ", comma, lines)
        lines.append(Line(depth, "}" + suffix, pointer))
    elif isinstance(value, list) and value:
        lines.append(Line(depth, prefix + "[", pointer))
        for index, item in enumerate(value):
            comma = "," if index < len(value) - 1 else ""
            _walk(item, pointer + json_pointer(index), depth + 1, "", comma, lines)
        lines.append(Line(depth, "]" + suffix, pointer))
    else:
        lines.append(Line(depth, prefix + _scalar(value) + suffix, pointer))


def _parent(pointer: str) -> str:
    return pointer.rsplit("/", 1)[0] if pointer else ""


def annotate(document: Any, problems: list[Problem]) -> list[Line]:
    """Return the document's lines with every problem attached to the line it concerns."""
    lines: list[Line] = []
    _walk(document, "", 0, "", "", lines)
    for number, line in enumerate(lines, start=1):
        line.number = number
    # The first line of each value (its opening bracket, or the value itself) takes its problems.
    first_line: dict[str, Line] = {}
    for line in lines:
        first_line.setdefault(line.pointer, line)
    for problem in problems:
        pointer = problem.pointer
        while pointer not in first_line and pointer:
            pointer = _parent(pointer)
        first_line[pointer].problems.append(f"{problem.pointer or '/'}: {problem.message}")
    return lines
