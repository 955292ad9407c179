"""The one exception root of Stepline's services. The API maps it to HTTP in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorItem:
    code: str
    message: str

    def __post_init__(self) -> None:
        # A message can quote a client's text with lone surrogates, which UTF-8 cannot
        # encode. They are written as \udXXX escapes, so the response can be sent.
        safe = self.message.encode("utf-8", "backslashreplace").decode("utf-8")
        object.__setattr__(self, "message", safe)


class StepLineError(Exception):
    """An error a client caused or can act on: an HTTP status and one or more entries."""

    status = 400

    def __init__(self, code: str, message: str, *, extra: list[ErrorItem] | None = None) -> None:
        super().__init__(message)
        self.items = [ErrorItem(code, message), *(extra or [])]

    @classmethod
    def many(cls, items: list[ErrorItem]) -> StepLineError:
        error = cls(items[0].code, items[0].message)
        error.items = list(items)
        return error


class InvalidRequest(StepLineError):
    status = 400


class NotFound(StepLineError):
    status = 404


class Conflict(StepLineError):
    status = 409


class TooLarge(StepLineError):
    status = 413


class UnsupportedMediaType(StepLineError):
    status = 415
