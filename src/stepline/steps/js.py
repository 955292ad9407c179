"""The JS step: runs a script body in a QuickJS sandbox process with time and memory limits.

Every input other than `script` is passed to the script as a property of `inputs`. A file
input arrives as its text (UTF-8, at most `StepLimits.js_file_max_bytes`). The object the
script returns becomes the step's outputs, and a script without `return` has no outputs.
Console lines reach the step log when the script has ended.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

from .base import FileInput, StepContext, StepFailure
from .js_pool import KILL_GRACE_SECONDS, SandboxExited, SandboxPool, SandboxProcess, describe_exit

# Failures after which the sandbox process is in a known state and can run the next script.
REUSABLE_ERROR_CODES = frozenset({"SCRIPT_ERROR", "SCRIPT_RESULT_INVALID"})


class JsRunner:
    """Runs JS steps in sandbox processes from one warm pool per event loop."""

    def __init__(self, warm_processes: int = 2) -> None:
        self._warm_processes = warm_processes
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SandboxPool] = (
            weakref.WeakKeyDictionary()
        )

    def pool(self) -> SandboxPool:
        """Return the pool of the running event loop, created on first use."""
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = SandboxPool(self._warm_processes)
            self._pools[loop] = pool
        return pool

    async def aclose(self) -> None:
        """End the sandbox processes of the running event loop's pool."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.aclose()

    async def run(self, inputs: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        script = await _script_text(inputs.get("script"), ctx)
        script_inputs = {
            name: await _input_value(name, value, ctx) for name, value in inputs.items() if name != "script"
        }
        request = _encode_request({
            "script": script,
            "inputs": script_inputs,
            "timeSeconds": ctx.limits.js_time_seconds,
            "memoryBytes": ctx.limits.js_memory_bytes,
        })  # fmt: skip

        reply = await self._run_in_sandbox(request, ctx)
        error = reply.get("error")
        if isinstance(error, dict):
            raise StepFailure(str(error.get("code")), str(error.get("message")))
        outputs = reply.get("outputs")
        if not isinstance(outputs, dict):
            raise StepFailure("SANDBOX_FAILED", "the JavaScript sandbox sent a reply without outputs")
        return outputs

    async def _run_in_sandbox(self, request: bytes, ctx: StepContext) -> dict[str, Any]:
        """Run the request in a pooled process and kill that process unless it ended cleanly."""
        pool = self.pool()
        process = await pool.acquire()
        reusable = False
        try:
            reply = await _exchange_with_deadline(process, request, ctx)
            error = reply.get("error")
            reusable = not isinstance(error, dict) or error.get("code") in REUSABLE_ERROR_CODES
            return reply
        finally:
            # On cancellation too: a process that is not reusable is killed before re-raising.
            await pool.release(process, reusable=reusable)


async def _exchange_with_deadline(
    process: SandboxProcess, request: bytes, ctx: StepContext
) -> dict[str, Any]:
    time_seconds = ctx.limits.js_time_seconds
    try:
        async with asyncio.timeout(time_seconds + KILL_GRACE_SECONDS):
            return await process.exchange(request, ctx.log)
    except TimeoutError:
        raise StepFailure(
            "SCRIPT_TIMEOUT",
            f"the script did not end within {time_seconds:g} s, so its sandbox process was killed",
        ) from None
    except SandboxExited as exc:
        raise _failure_for_exit(exc.returncode, time_seconds) from None
    except ValueError as exc:
        raise StepFailure("SANDBOX_FAILED", f"the JavaScript sandbox sent a malformed reply: {exc}") from None


def _failure_for_exit(returncode: int | None, time_seconds: float) -> StepFailure:
    """Describe a sandbox process that ended while it ran a script."""
    exit_description = describe_exit(returncode)
    if exit_description == "signal SIGXCPU":
        return StepFailure(
            "SCRIPT_TIMEOUT",
            f"the script used more than {time_seconds:g} s of CPU time, so its sandbox process was killed",
        )
    return StepFailure(
        "SANDBOX_FAILED",
        f"the JavaScript sandbox process ended with {exit_description} while it ran the script",
    )


async def _script_text(value: Any, ctx: StepContext) -> str:
    if isinstance(value, FileInput):
        return await _file_text("script", value, ctx)
    if not isinstance(value, str) or not value.strip():
        raise StepFailure(
            "INPUT_INVALID",
            "input 'script' is missing or empty. Set it to the body of a JavaScript function",
            retryable=False,
        )
    return value


async def _input_value(name: str, value: Any, ctx: StepContext) -> Any:
    if isinstance(value, FileInput):
        return await _file_text(name, value, ctx)
    return value


async def _file_text(name: str, file: FileInput, ctx: StepContext) -> str:
    content = await ctx.files.read_bytes(file, ctx.limits.js_file_max_bytes)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StepFailure(
            "INPUT_INVALID",
            f"input '{name}' is file '{file.name}', which is not UTF-8 text "
            f"(invalid byte at offset {exc.start}). A JS step reads file inputs as text",
            retryable=False,
        ) from None


def _encode_request(request: dict[str, Any]) -> bytes:
    """Encode the request as one JSON line, naming the input that cannot be encoded."""
    try:
        return json.dumps(request, ensure_ascii=False, allow_nan=False).encode() + b"\n"
    except (TypeError, ValueError):
        pass
    for name, value in request["inputs"].items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StepFailure(
                "INPUT_INVALID",
                f"input '{name}' cannot be passed to JavaScript as JSON: {exc}",
                retryable=False,
            ) from None
    raise StepFailure("INPUT_INVALID", "the inputs cannot be passed to JavaScript as JSON")
