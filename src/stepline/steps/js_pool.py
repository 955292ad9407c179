"""Warm JavaScript sandbox processes and the JSON-lines exchange with them.

A `SandboxPool` keeps a few started `js_sandbox` processes idle, so that a script does not
wait for Python and QuickJS to start. A process that timed out, ran out of memory, crashed
or was cancelled is killed and never reused, and the pool starts a replacement.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from .base import StepFailure, StepLogger

logger = logging.getLogger(__name__)

SANDBOX_MODULE = "stepline.steps.js_sandbox"
START_TIMEOUT_SECONDS = 30.0
# Time the parent waits beyond the script's time limit before it kills the process.
KILL_GRACE_SECONDS = 2.0
# Enough for the largest reply line: a 16 Mi character result with JSON escapes.
STREAM_LIMIT_BYTES = 128 * 1024**2
DEFAULT_WARM_PROCESSES = 2


class SandboxExited(Exception):
    """The sandbox process ended before it sent a reply."""

    def __init__(self, returncode: int | None) -> None:
        super().__init__(f"sandbox process exited with {returncode}")
        self.returncode = returncode


def _sandbox_environment() -> dict[str, str]:
    """Return a minimal environment, so that no secret of the service reaches the sandbox."""
    package_root = str(Path(__file__).resolve().parents[2])
    return {"PYTHONPATH": package_root, "PYTHONSAFEPATH": "1", "LANG": "C.UTF-8"}


class SandboxProcess:
    """One started sandbox process that runs one script at a time."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.returncode is None

    @classmethod
    async def start(cls) -> SandboxProcess:
        """Start a sandbox process and wait until it reports that it is ready."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", SANDBOX_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=_sandbox_environment(),
            cwd="/",
            limit=STREAM_LIMIT_BYTES,
        )  # fmt: skip
        sandbox = cls(process)
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                message = await sandbox._read_message()
        except (TimeoutError, SandboxExited, ValueError) as exc:
            await sandbox.kill()
            raise StepFailure(
                "SANDBOX_FAILED",
                f"the JavaScript sandbox process did not start ({exc!r}). "
                "Its error output is in the service log",
            ) from exc
        except asyncio.CancelledError:
            await sandbox.kill()
            raise
        if message != {"ready": True}:
            await sandbox.kill()
            raise StepFailure("SANDBOX_FAILED", "the JavaScript sandbox process sent no ready line")
        return sandbox

    async def _read_message(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            raise SandboxExited(await self._process.wait())
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ValueError("a sandbox message is not a JSON object")
        return message

    async def exchange(self, request: bytes, log: StepLogger) -> dict[str, Any]:
        """Send one request line, pass the script's console lines to `log` and return the reply.

        Raises SandboxExited when the process ends first, and ValueError on a malformed line.
        """
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(request)
            await self._process.stdin.drain()
        except ConnectionError:
            raise SandboxExited(await self._process.wait()) from None
        while True:
            message = await self._read_message()
            lines = message.get("logs")
            if not isinstance(lines, list):
                return message
            for level, text in lines:
                _write_log(log, str(level), str(text))

    async def kill(self) -> None:
        """Kill the process at once and reap it."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        await self._process.wait()
        if self._process.stdin is not None:
            self._process.stdin.close()

    async def close(self) -> None:
        """End an idle process by closing its stdin, or kill it when it does not exit."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._process.wait()
        await self.kill()


def _write_log(log: StepLogger, level: str, message: str) -> None:
    if level == "debug":
        log.debug(message)
    elif level == "warn":
        log.warn(message)
    elif level == "error":
        log.error(message)
    else:
        log.info(message)


def describe_exit(returncode: int | None) -> str:
    """Describe a process exit status, naming the signal when one ended the process."""
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


class SandboxPool:
    """Sandbox processes of one event loop: a few idle ones, at most `max_processes` busy.

    Scripts are CPU-bound, so running more of them at once than there are CPUs gains
    nothing. A script waits for a free slot before its time limit starts.
    """

    def __init__(
        self, warm_processes: int = DEFAULT_WARM_PROCESSES, max_processes: int | None = None
    ) -> None:
        self._warm_processes = warm_processes
        self._slots = asyncio.Semaphore(max_processes or os.cpu_count() or 2)
        self._idle: list[SandboxProcess] = []
        self._busy: set[SandboxProcess] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def busy_pids(self) -> set[int]:
        """Process ids of the sandboxes that run a script now."""
        return {process.pid for process in self._busy}

    async def acquire(self) -> SandboxProcess:
        """Wait for a free slot, then take an idle process or start one."""
        if self._closed:
            raise RuntimeError("the JavaScript sandbox pool is closed")
        await self._slots.acquire()
        try:
            process = await self._take_idle() or await SandboxProcess.start()
        except BaseException:
            self._slots.release()
            raise
        self._busy.add(process)
        return process

    async def _take_idle(self) -> SandboxProcess | None:
        while self._idle:
            process = self._idle.pop()
            if process.alive:
                return process
            await process.kill()
        return None

    async def release(self, process: SandboxProcess, *, reusable: bool) -> None:
        """Keep a healthy process for the next script, or end it.

        A process that is not reusable is killed, and a replacement starts in the
        background. A healthy one is ended when `warm_processes` are idle already.
        """
        self._busy.discard(process)
        try:
            if not reusable or not process.alive:
                await process.kill()
                self._refill()
            elif self._closed or len(self._idle) >= self._warm_processes:
                await process.close()
            else:
                self._idle.append(process)
        finally:
            self._slots.release()

    def _refill(self) -> None:
        if self._closed:
            return
        missing = self._warm_processes - len(self._idle) - len(self._starting)
        for _ in range(max(0, missing)):
            task = asyncio.create_task(self._start_spare())
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _start_spare(self) -> None:
        try:
            process = await SandboxProcess.start()
        except StepFailure as exc:
            logger.error("js_sandbox_start_failed: %s", exc.message)
            return
        if self._closed:
            await process.close()
        else:
            self._idle.append(process)

    async def aclose(self) -> None:
        """Stop the pool: cancel starts in progress and end the idle processes."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        idle, self._idle = self._idle, []
        await asyncio.gather(*(process.close() for process in idle))
