"""JS step against real sandbox processes: results, logs, inputs, errors and hostile scripts."""

from __future__ import annotations

import asyncio
import math
import os
import signal

import psutil
import pytest

from stepline.steps.base import StepFailure, StepLimits
from stepline.steps.js import JsRunner
from stepline.steps.js_sandbox import MAX_LOG_LINE_CHARS

FAST_LIMITS = StepLimits(js_time_seconds=1.0, js_memory_bytes=32 * 1024**2)


@pytest.fixture
async def runner():
    js_runner = JsRunner(warm_processes=1)
    yield js_runner
    await js_runner.aclose()


async def run_script(runner, context, script, **inputs):
    return await runner.run({"script": script, **inputs}, context)


async def wait_for_busy_pid(runner) -> int:
    """Return the pid of the sandbox that runs a script, once one does."""
    for _ in range(500):
        busy = runner.pool().busy_pids
        if busy:
            return next(iter(busy))
        await asyncio.sleep(0.01)
    raise AssertionError("no sandbox process started running the script within 5 s")


def assert_process_gone(pid: int) -> None:
    if not psutil.pid_exists(pid):
        return
    assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, f"sandbox {pid} still runs"


async def assert_pool_still_works(runner, context) -> None:
    outputs = await run_script(runner, context, "return {after: 'ok'}")
    assert outputs == {"after": "ok"}


async def test_js_returns_object_as_outputs(runner, context):
    script = "return {number: 1.5, text: 'x', list: [1, 2], nested: {empty: null}, yes: true}"

    outputs = await run_script(runner, context, script)

    assert outputs == {
        "number": 1.5,
        "text": "x",
        "list": [1, 2],
        "nested": {"empty": None},
        "yes": True,
    }


async def test_js_without_return_has_no_outputs(runner, context):
    outputs = await run_script(runner, context, "const unused = 1;")

    assert outputs == {}


async def test_js_inputs_are_properties_of_inputs(runner, context):
    script = "return {greeting: `hi ${inputs.name}`, doubled: inputs.count * 2, flag: inputs.flags.x}"

    outputs = await run_script(runner, context, script, name="ann", count=21, flags={"x": True})

    assert outputs == {"greeting": "hi ann", "doubled": 42, "flag": True}


async def test_js_script_is_not_an_input(runner, context):
    outputs = await run_script(runner, context, "return {names: Object.keys(inputs)}", a=1)

    assert outputs == {"names": ["a"]}


async def test_js_console_lines_go_to_step_log(runner, context, step_log):
    script = """
        console.log('plain', 1, {k: 'v'}, [1, 2]);
        console.info('info line');
        console.warn('warn line');
        console.error('error line');
        console.debug('debug line');
        console.log(new Error('shown'));
        return {};
    """

    await run_script(runner, context, script)

    assert ("INFO", 'plain 1 {"k":"v"} [1,2]') in step_log.entries
    assert ("INFO", "info line") in step_log.entries
    assert ("WARN", "warn line") in step_log.entries
    assert ("ERROR", "error line") in step_log.entries
    assert ("DEBUG", "debug line") in step_log.entries
    assert ("INFO", "Error: shown") in step_log.entries


async def test_js_console_lines_kept_when_script_fails(runner, context, step_log):
    with pytest.raises(StepFailure):
        await run_script(runner, context, "console.log('before'); throw new Error('x')")

    assert step_log.messages("INFO") == ["before"]


async def test_js_long_console_line_is_cut(runner, context, step_log):
    await run_script(runner, context, "console.log('y'.repeat(1100000)); return {}")

    [line] = step_log.messages("INFO")
    assert line.startswith("y" * MAX_LOG_LINE_CHARS + " [cut: ")
    assert f"{1100000 - MAX_LOG_LINE_CHARS} more characters" in line


async def test_js_file_input_arrives_as_text(runner, context, files):
    data = files.add("data.json", '{"value": 7, "name": "Zoë"}'.encode())

    script = "const parsed = JSON.parse(inputs.data); return {value: parsed.value, name: parsed.name}"
    outputs = await run_script(runner, context, script, data=data)

    assert outputs == {"value": 7, "name": "Zoë"}


async def test_js_script_from_file_input(runner, context, files):
    script_file = files.add("script.js", b"const a = 2;\nreturn {product: a * inputs.b};\n")

    outputs = await runner.run({"script": script_file, "b": 21}, context)

    assert outputs == {"product": 42}


async def test_js_file_input_not_utf8_is_rejected(runner, context, files):
    binary = files.add("image.bin", b"\x89PNG\r\n\x1a\n\xff\xfe")

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "return {}", data=binary)

    assert failure.value.code == "INPUT_INVALID"
    assert "image.bin" in failure.value.message
    assert "not UTF-8" in failure.value.message


async def test_js_file_input_over_limit_is_rejected(runner, make_context, files):
    context = make_context(StepLimits(js_file_max_bytes=10))
    big = files.add("big.txt", b"x" * 11)

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "return {}", data=big)

    assert failure.value.code == "FILE_TOO_LARGE"


@pytest.mark.parametrize("script", [None, "", "   "])
async def test_js_missing_script_is_rejected(runner, context, script):
    with pytest.raises(StepFailure) as failure:
        await runner.run({"script": script}, context)

    assert failure.value.code == "INPUT_INVALID"


@pytest.mark.parametrize("value", [object(), math.nan])
async def test_js_input_not_json_is_rejected(runner, context, value):
    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "return {}", odd=value)

    assert failure.value.code == "INPUT_INVALID"
    assert "'odd'" in failure.value.message


async def test_js_syntax_error_names_line(runner, context):
    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "const a = 1;\nconst b = ;\nreturn {};")

    assert failure.value.code == "SCRIPT_ERROR"
    assert failure.value.message.startswith("SyntaxError: ")
    assert "(line 2, column" in failure.value.message


async def test_js_thrown_error_names_message_and_line(runner, context):
    script = "const a = 1;\nconst b = 2;\nthrow new TypeError('boom ' + (a + b));"

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, script)

    assert failure.value.code == "SCRIPT_ERROR"
    assert failure.value.message.startswith("TypeError: boom 3 (line 3, column")


async def test_js_thrown_value_is_reported(runner, context):
    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "throw {reason: 'no'}")

    assert failure.value.code == "SCRIPT_ERROR"
    assert failure.value.message == 'uncaught value {"reason":"no"}'


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("return 5", "returned a number"),
        ("return 'text'", "returned a string"),
        ("return null", "returned null"),
        ("return [1, 2]", "returned an array"),
        ("return {big: 1n}", "cannot be converted to JSON"),
        ("const o = {}; o.self = o; return o", "cannot be converted to JSON"),
        ("return Promise.resolve({})", "returned a Promise"),
    ],
)
async def test_js_invalid_result_is_rejected(runner, context, script, expected):
    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, script)

    assert failure.value.code == "SCRIPT_RESULT_INVALID"
    assert expected in failure.value.message


async def test_js_has_no_io_globals(runner, context):
    script = """
        const names = ['require', 'process', 'fetch', 'XMLHttpRequest', 'std', 'os', 'setTimeout'];
        return Object.fromEntries(names.map((name) => [name, typeof globalThis[name]]));
    """

    outputs = await run_script(runner, context, script)

    assert set(outputs.values()) == {"undefined"}


async def test_js_static_import_is_syntax_error(runner, context):
    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "import * as os from 'os'; return {}")

    assert failure.value.code == "SCRIPT_ERROR"
    assert failure.value.message.startswith("SyntaxError")


async def test_js_dynamic_import_never_loads(runner, context):
    # The sandbox runs no promise jobs, and QuickJS has no module loader here anyway.
    script = "let state = 'pending'; import('os').then(() => { state = 'loaded' }); return {state}"

    outputs = await run_script(runner, context, script)

    assert outputs == {"state": "pending"}


async def test_js_globals_do_not_leak_between_scripts(runner, context):
    await run_script(runner, context, "globalThis.leaked = 1; Object.prototype.polluted = 2;")

    outputs = await run_script(
        runner, context, "return {leaked: typeof leaked, polluted: typeof ({}).polluted}"
    )

    assert outputs == {"leaked": "undefined", "polluted": "undefined"}


async def test_js_endless_loop_times_out(runner, make_context):
    context = make_context(FAST_LIMITS)

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "while (true) {}")

    assert failure.value.code == "SCRIPT_TIMEOUT"
    assert "1 s" in failure.value.message
    await assert_pool_still_works(runner, context)


async def test_js_timed_out_sandbox_is_replaced(runner, make_context):
    context = make_context(FAST_LIMITS)
    task = asyncio.create_task(run_script(runner, context, "while (true) {}"))
    pid = await wait_for_busy_pid(runner)

    with pytest.raises(StepFailure):
        await task

    assert_process_gone(pid)


async def test_js_huge_allocation_exceeds_memory(runner, make_context):
    context = make_context(FAST_LIMITS)
    script = "const chunks = []; while (true) chunks.push(new Array(1e6).fill(1.5));"

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, script)

    assert failure.value.code == "SCRIPT_MEMORY_EXCEEDED"
    assert "32 MiB" in failure.value.message
    await assert_pool_still_works(runner, context)


async def test_js_huge_string_exceeds_memory(runner, make_context):
    context = make_context(FAST_LIMITS)

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "return {s: 'x'.repeat(2 ** 29)}")

    assert failure.value.code == "SCRIPT_MEMORY_EXCEEDED"
    await assert_pool_still_works(runner, context)


async def test_js_out_of_memory_while_throwing(runner, make_context):
    # The split array fills the memory, so QuickJS cannot even create the error object.
    context = make_context(FAST_LIMITS)

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "'x'.repeat(1e7).split('')")

    assert failure.value.code == "SCRIPT_MEMORY_EXCEEDED"
    await assert_pool_still_works(runner, context)


async def test_js_console_flood_is_capped(runner, context, step_log):
    script = "for (let i = 0; i < 300000; i++) console.log('line ' + i); return {done: true}"

    outputs = await run_script(runner, context, script)

    assert outputs == {"done": True}
    assert 50_000 < len(step_log.messages("INFO")) < 300_000
    [warning] = step_log.messages("WARN")
    assert "console lines were dropped" in warning


async def test_js_deep_recursion_is_script_error(runner, make_context):
    context = make_context(FAST_LIMITS)

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, "function f() { return f() + 1 } return {v: f()}")

    assert failure.value.code == "SCRIPT_ERROR"
    assert "call stack" in failure.value.message
    await assert_pool_still_works(runner, context)


async def test_js_stopped_sandbox_is_killed_at_deadline(runner, make_context):
    # A stopped process uses no CPU time, so only the parent's wall-clock deadline ends it.
    context = make_context(FAST_LIMITS)
    task = asyncio.create_task(run_script(runner, context, "while (true) {}"))
    pid = await wait_for_busy_pid(runner)
    os.kill(pid, signal.SIGSTOP)

    with pytest.raises(StepFailure) as failure:
        await task

    assert failure.value.code == "SCRIPT_TIMEOUT"
    assert "killed" in failure.value.message
    assert_process_gone(pid)
    await assert_pool_still_works(runner, context)


async def test_js_cpu_limit_signal_is_timeout(runner, make_context):
    context = make_context(StepLimits(js_time_seconds=30.0))
    task = asyncio.create_task(run_script(runner, context, "while (true) {}"))
    pid = await wait_for_busy_pid(runner)
    os.kill(pid, signal.SIGXCPU)

    with pytest.raises(StepFailure) as failure:
        await task

    assert failure.value.code == "SCRIPT_TIMEOUT"
    assert "CPU time" in failure.value.message
    await assert_pool_still_works(runner, context)


async def test_js_crashed_sandbox_is_reported(runner, make_context):
    context = make_context(StepLimits(js_time_seconds=30.0))
    task = asyncio.create_task(run_script(runner, context, "while (true) {}"))
    pid = await wait_for_busy_pid(runner)
    os.kill(pid, signal.SIGKILL)

    with pytest.raises(StepFailure) as failure:
        await task

    assert failure.value.code == "SANDBOX_FAILED"
    assert "SIGKILL" in failure.value.message
    await assert_pool_still_works(runner, context)


async def test_js_cancellation_kills_sandbox(runner, make_context):
    context = make_context(StepLimits(js_time_seconds=30.0))
    task = asyncio.create_task(run_script(runner, context, "while (true) {}"))
    pid = await wait_for_busy_pid(runner)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert_process_gone(pid)
    assert runner.pool().busy_pids == set()
    await assert_pool_still_works(runner, context)


async def test_js_concurrent_scripts(runner, context):
    scripts = [run_script(runner, context, "return {n: inputs.n * 2}", n=n) for n in range(6)]

    results = await asyncio.gather(*scripts)

    assert [result["n"] for result in results] == [0, 2, 4, 6, 8, 10]


async def test_js_sandbox_reused_after_script_error(runner, context):
    with pytest.raises(StepFailure):
        await run_script(runner, context, "throw new Error('x')")
    idle_before = set(psutil.Process().children())

    await assert_pool_still_works(runner, context)

    assert set(psutil.Process().children()) == idle_before


async def test_js_deeply_nested_result_is_invalid(runner, context, step_log):
    script = "let v = 1; for (let i = 0; i < 2000; i++) v = [v]; return {v: v};"

    with pytest.raises(StepFailure) as failure:
        await run_script(runner, context, script)

    assert failure.value.code == "SCRIPT_RESULT_INVALID"
    assert "nested too deeply" in failure.value.message
