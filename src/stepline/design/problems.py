"""Design problems: one entry per issue, located by a JSON pointer into the submitted document."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One issue in a submitted document.

    `pointer` is an RFC 6901 JSON pointer to the offending value, e.g.
    `/steps/apply/nextStepId`. The empty string points to the whole document. `message`
    names the value and the fix.
    """

    pointer: str
    message: str
    code: str = "VALIDATION_FAILED"


class DesignError(Exception):
    """A design or a request that fails validation, with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems))
        self.problems = problems


def json_pointer(*parts: str | int) -> str:
    """Build an RFC 6901 JSON pointer from unescaped parts: ('steps', 'a/b') -> '/steps/a~1b'."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def quote_names(names: Iterable[str], limit: int = 20) -> str:
    """Format names for a message, sorted and quoted: "'a', 'b'".

    Past `limit` names the list ends with '...', and no names gives 'none'.
    """
    ordered = sorted(names)
    if not ordered:
        return "none"
    listed = ", ".join(repr(name) for name in ordered[:limit])
    return listed + (", ..." if len(ordered) > limit else "")
