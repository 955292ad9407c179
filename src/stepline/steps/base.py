"""The contract between the engine and a step runner.

A runner gets resolved inputs and a `StepContext`, and returns the step's outputs or
raises `StepFailure`. It does not use the database. Cancellation arrives as
`asyncio.CancelledError`, and a runner stops its work (process, channel) before re-raising.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol


class StepFailure(Exception):
    """A step failed. `code` is stable and upper-snake (e.g. SSH_AUTH_FAILED)."""

    def __init__(
        self, code: str, message: str, *, retryable: bool = True, outputs: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.outputs = outputs or {}


@dataclass(frozen=True)
class FileInput:
    """A file attachment passed to a step: its display name, size and blob key."""

    name: str
    size: int
    blob_key: str

    def __str__(self) -> str:
        return self.name


class StepLogger(Protocol):
    """Writes lines to the step's log. Secrets are masked by the implementation."""

    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warn(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


class FileReader(Protocol):
    """Reads the content of file inputs."""

    def open(self, file: FileInput) -> AsyncIterator[bytes]:
        """Yield the file's content in chunks, with bounded memory."""
        ...

    async def read_bytes(self, file: FileInput, limit: int) -> bytes:
        """Return the whole content; raise StepFailure(FILE_TOO_LARGE) past `limit` bytes."""
        ...


@dataclass(frozen=True)
class StepLimits:
    js_memory_bytes: int = 64 * 1024**2
    js_time_seconds: float = 10.0
    js_file_max_bytes: int = 16 * 1024**2


@dataclass
class StepContext:
    """The services a runner may use besides its inputs."""

    tenant_id: str
    execution_id: str
    step_id: str
    log: StepLogger
    files: FileReader
    limits: StepLimits
    # Host patterns that outgoing connections may reach; see stepline.steps.egress.
    allowed_hosts: tuple[str, ...] = ("*",)


class StepRunner(Protocol):
    """Runs one step type."""

    async def run(self, inputs: dict[str, Any], ctx: StepContext) -> dict[str, Any]: ...
