"""Fixtures of the step tests: an in-memory step log and file reader, step contexts, SSH peers.

The SSH peers are a real OpenSSH sshd (key authentication) and, for password
authentication, an in-process asyncssh server on loopback. The real sshd would need a
system password for that, so the in-process server accepts exactly one test user and
password. It runs no real commands: `fail` writes to both streams and exits with 3,
`wait-for-signal` waits until the client sends a signal and records it, and any other
command gets the reply `ran: <command>`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncssh
import pytest

from stepline.steps.base import FileInput, StepContext, StepFailure, StepLimits
from tests.sshd_server import SshdServer, SshdUnavailable, run_sshd


class MemoryLog:
    """A StepLogger that keeps its entries as (level, message) pairs."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def debug(self, msg: str) -> None:
        self.entries.append(("DEBUG", msg))

    def info(self, msg: str) -> None:
        self.entries.append(("INFO", msg))

    def warn(self, msg: str) -> None:
        self.entries.append(("WARN", msg))

    def error(self, msg: str) -> None:
        self.entries.append(("ERROR", msg))

    def messages(self, level: str | None = None) -> list[str]:
        return [msg for entry_level, msg in self.entries if level in (None, entry_level)]

    def text(self) -> str:
        return "\n".join(self.messages())


class MemoryFiles:
    """A FileReader over in-memory contents, served in chunks of `chunk_size` bytes."""

    def __init__(self, chunk_size: int = 64 * 1024) -> None:
        self.chunk_size = chunk_size
        self._contents: dict[str, bytes] = {}

    def add(self, name: str, content: bytes) -> FileInput:
        key = f"blob-{len(self._contents)}"
        self._contents[key] = content
        return FileInput(name, len(content), key)

    async def _chunks(self, content: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(content), self.chunk_size):
            yield content[start : start + self.chunk_size]

    def open(self, file: FileInput) -> AsyncIterator[bytes]:
        return self._chunks(self._contents[file.blob_key])

    async def read_bytes(self, file: FileInput, limit: int) -> bytes:
        content = self._contents[file.blob_key]
        if len(content) > limit:
            raise StepFailure(
                "FILE_TOO_LARGE",
                f"file '{file.name}' is {len(content)} bytes, over the limit of {limit} bytes",
                retryable=False,
            )
        return content


@pytest.fixture
def step_log() -> MemoryLog:
    return MemoryLog()


@pytest.fixture
def files() -> MemoryFiles:
    return MemoryFiles()


@pytest.fixture
def make_context(step_log: MemoryLog, files: MemoryFiles) -> Callable[..., StepContext]:
    """Return a factory of step contexts that share `step_log` and `files`."""

    def make(limits: StepLimits | None = None) -> StepContext:
        return StepContext(
            tenant_id="tenant-1",
            execution_id="execution-1",
            step_id="step-1",
            log=step_log,
            files=files,
            limits=limits or StepLimits(),
        )

    return make


@pytest.fixture
def context(make_context: Callable[..., StepContext]) -> StepContext:
    return make_context()


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshdServer]:
    """A real OpenSSH sshd on 127.0.0.1. The fixture fails, and never skips, without sshd."""
    try:
        with run_sshd() as server:
            yield server
    except SshdUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


TEST_USER = "stepline-test"
TEST_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class PasswordServer:
    host: str
    port: int
    username: str
    password: str
    host_key: str
    signals: list[str]


class _PasswordOnlyServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == TEST_USER and password == TEST_PASSWORD


async def _wait_for_signal(process: asyncssh.SSHServerProcess[str], signals: list[str]) -> None:
    process.stdout.write("waiting\n")
    while True:
        try:
            if not await process.stdin.read(1024):
                await asyncio.sleep(0.05)  # stdin is at EOF, but a signal still raises SignalReceived here
        except asyncssh.SignalReceived as exc:
            signals.append(exc.signal)
            process.exit_with_signal(exc.signal)
            return


def _command_handler(signals: list[str]) -> Callable[[asyncssh.SSHServerProcess[str]], Any]:
    async def handle(process: asyncssh.SSHServerProcess[str]) -> None:
        if process.command == "wait-for-signal":
            await _wait_for_signal(process, signals)
        elif process.command == "fail":
            process.stdout.write("out\n")
            process.stderr.write("err\n")
            process.exit(3)
        else:
            process.stdout.write(f"ran: {process.command}\n")
            process.exit(0)

    return handle


@pytest.fixture
async def password_server() -> AsyncIterator[PasswordServer]:
    """An in-process SSH server on 127.0.0.1 that accepts only TEST_USER / TEST_PASSWORD."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    signals: list[str] = []
    server = await asyncssh.create_server(
        _PasswordOnlyServer,
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        process_factory=_command_handler(signals),
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield PasswordServer(
            host="127.0.0.1",
            port=port,
            username=TEST_USER,
            password=TEST_PASSWORD,
            host_key=host_key.export_public_key().decode().strip(),
            signals=signals,
        )
    finally:
        server.close()
        await server.wait_closed()
