"""Identifiers: a prefix, then time-ordered base32 and random characters."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str) -> str:
    """Return e.g. `ex-01JEX6T4V6Q9K2M8D3ZP`: 10 characters of milliseconds, 10 random."""
    ms = int(time.time() * 1000)
    head = "".join(_ALPHABET[(ms >> shift) & 31] for shift in range(45, -5, -5))
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{prefix}-{head}{tail}"


def now_ms() -> int:
    return int(time.time() * 1000)
