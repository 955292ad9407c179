"""The TCA_SSH and VRO_SSH steps: run a command or a script file on a host over SSH.

A `script` string is run as the remote command by the user's login shell. A `script`
file is uploaded over SFTP to a new file under /tmp, run with `sh`, and deleted after
the run. Standard output and error lines go to the step log as they arrive (at INFO and
WARN), and are also returned as the outputs `output` and `stderr`, with `exitCode`.

On cancellation the remote command gets SIGTERM and, if it is still running after a
grace period, SIGKILL, through SSH "signal" channel requests, and then the channel is
closed. OpenSSH's sshd delivers a signal to the command's whole process group, but it
rejects signal requests of root logins (observed with OpenSSH 9.2: "session signalling
requires privilege separation"). So a login as root runs the command on a pseudo-terminal:
closing the channel hangs up the terminal, and the kernel sends SIGHUP to the command's
process group. On a terminal, standard error arrives merged into `output` (`stderr` stays
empty) and programs see a terminal, so the terminal type is "dumb".
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shlex
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncssh

from .base import FileInput, StepContext, StepFailure
from .sftp_upload import write_content
from .ssh_connect import invalid_input, open_connection, parse_target

# The outputs keep at most this much of each stream. The step log still gets every line.
MAX_CAPTURED_BYTES = 16 * 1024**2
# A line longer than this goes to the log in pieces. The engine then cuts each piece at its
# configured per-line limit (64 KiB by default) with a visible marker.
MAX_LOG_LINE_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
TERMINATE_GRACE_SECONDS = 1.0
# Pseudo-terminal modes: no echo and no "\n" to "\r\n" translation, so that the output
# is what the command wrote.
PTY_MODES = {asyncssh.PTY_ECHO: 0, asyncssh.PTY_ONLCR: 0}
CLEANUP_TIMEOUT_SECONDS = 2.0
REMOTE_SCRIPT_DIRECTORY = "/tmp"  # noqa: S108 - the file is created with O_EXCL and mode 0600


@dataclass
class CommandResult:
    """Captured output and exit status of a remote command."""

    output: str
    stderr: str
    # The exit status, or minus the signal number when a signal ended the command.
    returncode: int | None
    exit_signal: str | None = None

    def outputs(self) -> dict[str, Any]:
        """Return the step outputs. `exitCode` is -1 when the server sent no exit status."""
        exit_code = self.returncode if self.returncode is not None else -1
        return {"output": self.output, "stderr": self.stderr, "exitCode": exit_code}

    def failure(self) -> str | None:
        """Describe why the command counts as failed, or return None after exit status 0."""
        if self.exit_signal is not None:
            return f"the remote command was killed by signal {self.exit_signal}"
        if self.returncode is None:
            return "the remote command ended without an exit status"
        if self.returncode != 0:
            return f"the remote command exited with code {self.returncode}"
        return None


class StreamCapture:
    """Splits a byte stream into log lines and keeps its start for the outputs."""

    def __init__(self, write_line: Callable[[str], None], stream_name: str) -> None:
        self._write_line = write_line
        self._stream_name = stream_name
        self._pending = bytearray()
        self._captured = bytearray()
        self._truncated = False

    def feed(self, chunk: bytes) -> None:
        self._capture(chunk)
        self._pending += chunk
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                break
            self._emit(bytes(self._pending[:end]))
            del self._pending[: end + 1]
        while len(self._pending) >= MAX_LOG_LINE_BYTES:
            self._emit(bytes(self._pending[:MAX_LOG_LINE_BYTES]))
            del self._pending[:MAX_LOG_LINE_BYTES]

    def finish(self) -> str:
        """Log the last line and return the captured text."""
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()
        return self._captured.decode("utf-8", errors="replace")

    def _capture(self, chunk: bytes) -> None:
        room = MAX_CAPTURED_BYTES - len(self._captured)
        if len(chunk) > room and not self._truncated:
            self._truncated = True
            self._write_line(
                f"[{self._stream_name} is longer than {MAX_CAPTURED_BYTES // 1024**2} MiB, "
                "so the step output keeps only the start]"
            )
        self._captured += chunk[: max(0, room)]

    def _emit(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        for start in range(0, max(1, len(line)), MAX_LOG_LINE_BYTES):
            piece = line[start : start + MAX_LOG_LINE_BYTES]
            self._write_line(piece.decode("utf-8", errors="replace"))


async def _pump(reader: asyncssh.SSHReader[bytes], capture: StreamCapture) -> None:
    while chunk := await reader.read(READ_CHUNK_BYTES):
        capture.feed(chunk)


async def _stop_remote(process: asyncssh.SSHClientProcess[bytes], *, pty: bool) -> None:
    """Signal the remote command to end, escalate to SIGKILL, and close the channel.

    On a pseudo-terminal, closing the channel ends the command, so there is no wait.
    """
    for signal_name in ("TERM", "KILL"):
        try:
            process.send_signal(signal_name)
        except OSError:
            break  # the channel is closed already
        if pty:
            break
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TERMINATE_GRACE_SECONDS):
                await process.wait_closed()
                break
    process.close()


def needs_pty(username: str) -> bool:
    """Return whether the command must run on a pseudo-terminal to be stoppable on cancel."""
    return username == "root"


async def run_command(
    connection: asyncssh.SSHClientConnection, command: str, ctx: StepContext, *, pty: bool
) -> CommandResult:
    """Run `command`, stream its output lines to the step log and return the result."""
    stdout = StreamCapture(ctx.log.info, "standard output")
    stderr = StreamCapture(ctx.log.warn, "standard error")
    terminal: dict[str, Any] = {"term_type": "dumb", "term_modes": PTY_MODES} if pty else {}
    process = await connection.create_process(command, encoding=None, stdin=asyncssh.DEVNULL, **terminal)
    try:
        await asyncio.gather(_pump(process.stdout, stdout), _pump(process.stderr, stderr))
        await process.wait_closed()
    except asyncio.CancelledError:
        await _stop_remote(process, pty=pty)
        raise
    return CommandResult(
        output=stdout.finish(),
        stderr=stderr.finish(),
        returncode=process.returncode,
        exit_signal=process.exit_signal[0] if process.exit_signal else None,
    )


@contextlib.asynccontextmanager
async def uploaded_script(
    connection: asyncssh.SSHClientConnection, file: FileInput, ctx: StepContext
) -> AsyncIterator[str]:
    """Upload `file` to a new temporary path, yield the path and delete the file afterwards."""
    path = f"{REMOTE_SCRIPT_DIRECTORY}/stepline-{secrets.token_hex(12)}.sh"
    try:
        sftp = await connection.start_sftp_client()
    except (asyncssh.SFTPError, asyncssh.ChannelOpenError) as exc:
        raise StepFailure("SCP_FAILED", f"uploading script file '{file.name}' failed: {exc.reason}") from exc
    created = False
    try:
        try:
            # O_EXCL: never write through a file or symbolic link planted at the path.
            attrs = asyncssh.SFTPAttrs(permissions=0o600)
            async with sftp.open(path, "xb", attrs) as remote:
                created = True
                size = await write_content(remote, file, ctx)
        except asyncssh.SFTPError as exc:
            raise StepFailure(
                "SCP_FAILED", f"uploading script file '{file.name}' to {path} failed: {exc.reason}"
            ) from exc
        ctx.log.info(f"uploaded script file '{file.name}' ({size} bytes) to {path}")
        yield path
    finally:
        if created:
            await _remove_quietly(sftp, path, ctx)
        sftp.exit()


async def _remove_quietly(sftp: asyncssh.SFTPClient, path: str, ctx: StepContext) -> None:
    try:
        async with asyncio.timeout(CLEANUP_TIMEOUT_SECONDS):
            await sftp.remove(path)
    except (asyncssh.Error, OSError) as exc:
        ctx.log.warn(f"could not delete the uploaded script {path}: {exc}")


def _script_input(inputs: dict[str, Any]) -> str | FileInput:
    script = inputs.get("script")
    if isinstance(script, FileInput):
        return script
    if not isinstance(script, str) or not script.strip():
        raise invalid_input("input 'script' is missing or empty. Set a command or a script file")
    return script


class SshRunner:
    """Runs TCA_SSH and VRO_SSH steps."""

    async def run(self, inputs: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        script = _script_input(inputs)
        target = await parse_target(inputs, ctx)
        async with open_connection(target, ctx) as connection:
            try:
                result = await _run_script(connection, script, ctx, pty=needs_pty(target.username))
            except asyncssh.Error as exc:
                raise StepFailure(
                    "SSH_CONNECT_FAILED",
                    f"the SSH connection to {target.address} failed while the command ran: {exc.reason}",
                ) from exc

        outputs = result.outputs()
        failure = result.failure()
        if failure is not None:
            raise StepFailure("EXIT_CODE_NONZERO", failure, outputs=outputs)
        return outputs


async def _run_script(
    connection: asyncssh.SSHClientConnection,
    script: str | FileInput,
    ctx: StepContext,
    *,
    pty: bool,
) -> CommandResult:
    if isinstance(script, str):
        return await run_command(connection, script, ctx, pty=pty)
    async with uploaded_script(connection, script, ctx) as path:
        return await run_command(connection, f"sh {shlex.quote(path)}", ctx, pty=pty)
