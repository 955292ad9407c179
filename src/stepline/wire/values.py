"""Checks that a JSON value can be stored and returned by every supported database."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

# Deeper values are rejected: nothing an operator sends needs more, and deeper ones
# exhaust Python's recursion limit in the encoders.
MAX_DEPTH = 64
# Maximum length of an attachment name, in bytes of UTF-8. A PostgreSQL btree index entry
# can be at most 2,704 bytes, and the name shares its entry with the tenant and owner ids.
MAX_FILE_NAME_BYTES = 1024


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate, which is not valid Unicode"
    return None


def json_problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Return why `value` cannot be stored as JSON, or None when it can.

    Rejected: nesting deeper than `max_depth`, NaN and infinite numbers, and strings or
    keys with NUL characters or lone surrogates.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return f"is nested deeper than {max_depth} levels"
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return problem
        elif isinstance(item, float) and not math.isfinite(item):
            return "contains NaN or an infinite number, which JSON cannot carry"
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _text_problem(str(key))
                if problem:
                    return problem
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def file_name_problem(name: str) -> str | None:
    """Return why `name` cannot name an attachment, or None when it can."""
    if json_problem(name):
        return "is not valid Unicode text"
    if not name.strip():
        return "is empty"
    size = len(name.encode("utf-8"))
    if size > MAX_FILE_NAME_BYTES:
        return f"has {size} bytes in UTF-8, more than {MAX_FILE_NAME_BYTES}"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "contains control characters"
    if name in (".", ".."):
        # HTTP clients remove such path segments, so the attachment's URL would name its owner.
        return "is a dot segment ('.' or '..'), which URLs cannot carry"
    return None


def shown_text(text: str, limit: int = 80) -> str:
    """Return `text` quoted for an error message: escaped, and cut after `limit` characters."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text)} characters)"
