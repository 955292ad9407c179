"""Shared pieces of the TCA wire format: the strict base model, errors, times, lists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

T = TypeVar("T")


class StrictModel(BaseModel):
    """Base of every request shape: unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResponseModel(BaseModel):
    """Base of every response shape."""

    model_config = ConfigDict(extra="forbid")


class Error(ResponseModel):
    """One problem: a stable upper-snake code and a message naming the value and the fix."""

    code: str
    message: str


class ErrorResponse(ResponseModel):
    """TCA's `errorResponse`."""

    errors: list[Error]


class Page(ResponseModel, Generic[T]):
    """One page of a list; `nextCursor` is absent on the last page."""

    items: list[T]
    nextCursor: str | None = None

    @model_serializer(mode="wrap")
    def _drop_empty_cursor(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("nextCursor") is None:
            data.pop("nextCursor", None)
        return data


class Link(ResponseModel):
    href: str


def format_time(ms: int | None) -> str | None:
    """Format epoch milliseconds as RFC 3339 UTC with milliseconds, e.g. 2026-12-04T19:20:32.123Z."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time(text: str) -> int:
    """Parse an RFC 3339 time into epoch milliseconds; a time without offset is UTC.

    Raises ValueError with the text when it is not a valid time.
    """
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"invalid time {text!r}: use RFC 3339, e.g. 2026-12-04T19:20:32.123Z") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


JsonObject = dict[str, Any]
