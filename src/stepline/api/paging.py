"""Opaque list cursors: the (time, id) of the last item of a page, base64-encoded."""

from __future__ import annotations

import base64
import binascii
import json

from stepline.engine.errors import InvalidRequest

MAX_LIMIT = 500


def encode_cursor(time_ms: int, item_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([time_ms, item_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        time_ms, item_id = json.loads(base64.urlsafe_b64decode(padded))
        if isinstance(time_ms, int) and isinstance(item_id, str):
            return time_ms, item_id
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidRequest(
        "VALIDATION_FAILED", "cursor: invalid cursor; pass the nextCursor of the previous page"
    )


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest("VALIDATION_FAILED", f"limit: {limit} is outside 1..{MAX_LIMIT}")
    return limit
