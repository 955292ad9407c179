"""The JavaScript sandbox process: runs JS step scripts in QuickJS, one request per line.

The JS step runner starts it as `python -m stepline.steps.js_sandbox` and talks JSON
lines over stdin and stdout:

- at start the process writes `{"ready": true}`;
- a request is `{"script": str, "inputs": object, "timeSeconds": float, "memoryBytes": int}`;
- the reply is one `{"logs": [[level, message], ...]}` line with the script's console
  output, sent when the script has ended, and then `{"outputs": object}` or
  `{"error": {"code": str, "message": str}}`.

Each script gets a fresh QuickJS context and runtime, so nothing a script defines is seen by
the next one. The script's globals are the ECMAScript built-ins plus `console`: there is no
file, network, module or process access.

QuickJS enforces the memory limit and the time limit. Its binding (quickjs-ng 0.17) counts
the time limit in CPU time, as measured here, so on a loaded machine a script may run
longer in wall-clock time. The CPU time and address space limits of this process are a
backstop for the case where QuickJS does not stop a script. The parent kills the process
when no reply arrives within the time limit plus a grace period of wall-clock time.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import traceback
from typing import Any, BinaryIO

import quickjs

# QuickJS builds `new Function(...)` source with a two-line header, so a line number it
# reports is two more than the line number in the script.
FUNCTION_HEADER_LINES = 2

# Console output is buffered inside the script's memory limit until the script ends, so it
# has its own caps: a longer line is cut, and lines beyond the total are counted and dropped.
# The engine cuts lines again at its configured per-line limit (64 KiB by default), so this
# cap only bounds memory.
MAX_LOG_LINE_CHARS = 1024 * 1024
MAX_LOG_CHARS = 4 * 1024**2
LOG_LINE_OVERHEAD_CHARS = 32
MAX_RESULT_CHARS = 16 * 1024**2

# Memory the context may use above the script's limit while its console lines are
# collected, because a script that ran out of memory may still hold all of it.
LOG_COLLECTION_MARGIN_BYTES = 64 * 1024**2

# Backstop margins above the QuickJS limits, so that QuickJS reports the failure first.
CPU_MARGIN_SECONDS = 1.0
ADDRESS_SPACE_MARGIN_BYTES = 256 * 1024**2

# Runs the script as the body of a function and returns the reply as JSON text. Console
# lines are kept in the context until `__steplineTakeLog()` collects them, because the
# QuickJS binding does not allow calls into Python while a time limit is set. The wrapper
# captures the built-ins it uses before the script runs, because the script may replace them.
WRAPPER_SOURCE = r"""
(() => {
  const source = globalThis.__steplineSource;
  const inputsJson = globalThis.__steplineInputs;
  delete globalThis.__steplineSource;
  delete globalThis.__steplineInputs;

  const apply = Reflect.apply;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const isArray = Array.isArray;
  const push = Array.prototype.push;
  const join = Array.prototype.join;
  const map = Array.prototype.map;
  const exec = RegExp.prototype.exec;
  const slice = String.prototype.slice;
  const toWellFormed = String.prototype.toWellFormed;
  const NativeFunction = Function;
  const NativeError = Error;
  const NativeInternalError = InternalError;
  const NativeString = String;
  const locationPattern = /<input>:(\d+):(\d+)/;

  const wellFormed = (text) => apply(toWellFormed, text, []);

  const format = (value) => {
    if (typeof value === 'string') return value;
    try {
      if (value instanceof NativeError) return `${value.name}: ${value.message}`;
      const text = stringify(value);
      if (text !== undefined) return text;
    } catch {}
    try { return NativeString(value); } catch { return '[value that cannot be printed]'; }
  };

  const log = { entries: [], chars: 0, dropped: 0 };
  Object.defineProperty(globalThis, '__steplineTakeLog', {
    value: () => {
      const text = stringify({ entries: log.entries, dropped: log.dropped });
      log.entries = [];
      log.dropped = 0;
      return text;
    },
  });
  const record = (level) => (...values) => {
    if (log.chars >= __MAX_LOG_CHARS__) {
      log.dropped += 1;
      return;
    }
    let text = wellFormed(apply(join, apply(map, values, [format]), [' ']));
    if (text.length > __MAX_LOG_LINE_CHARS__) {
      const cut = text.length - __MAX_LOG_LINE_CHARS__;
      text = `${apply(slice, text, [0, __MAX_LOG_LINE_CHARS__])} [cut: ${cut} more characters]`;
    }
    // Each line also costs memory for its string and array slots, so it counts extra.
    log.chars += text.length + __LOG_LINE_OVERHEAD_CHARS__;
    apply(push, log.entries, [level, text]);
  };
  globalThis.console = Object.freeze({
    log: record('info'), info: record('info'), debug: record('debug'),
    warn: record('warn'), error: record('error'),
  });

  const fail = (code, message, location) => stringify({ error: { code, message, ...location } });
  const invalid = (message) => fail('SCRIPT_RESULT_INVALID', wellFormed(message), {});

  const scriptError = (error) => {
    let message = 'an exception that cannot be printed';
    let location = {};
    try {
      message = error instanceof NativeError ? format(error) : `uncaught value ${format(error)}`;
      const stack = error instanceof NativeError ? error.stack : undefined;
      const match = typeof stack === 'string' ? apply(exec, locationPattern, [stack]) : null;
      if (match) location = { line: Number(match[1]) - __FUNCTION_HEADER_LINES__, column: Number(match[2]) };
    } catch {}
    // QuickJS throws null when it runs out of memory while it creates the error object.
    // NOTE: a script that runs `throw null` is reported as out of memory too.
    const outOfMemory = error === null
      || (error instanceof NativeInternalError && message.endsWith('out of memory'));
    return fail(outOfMemory ? 'SCRIPT_MEMORY_EXCEEDED' : 'SCRIPT_ERROR', wellFormed(message), location);
  };

  let body;
  try {
    body = new NativeFunction('inputs', source);
  } catch (error) {
    return scriptError(error);
  }

  let result;
  try {
    result = apply(body, undefined, [parse(inputsJson)]);
  } catch (error) {
    return scriptError(error);
  }

  if (result === undefined) return '{"outputs":{}}';
  if (result === null || typeof result !== 'object' || isArray(result)) {
    const kind = result === null ? 'null' : isArray(result) ? 'an array' : `a ${typeof result}`;
    return invalid(`the script returned ${kind}; return an object such as { name: value }`);
  }
  let text;
  try {
    if (typeof result.then === 'function') {
      return invalid('the script returned a Promise, but async scripts are not supported');
    }
    const clean = (key, value) => (typeof value === 'string' ? wellFormed(value) : value);
    text = stringify({ outputs: result }, clean);
  } catch (error) {
    return invalid(`the returned object cannot be converted to JSON: ${format(error)}`);
  }
  if (text.length > __MAX_RESULT_CHARS__) {
    return invalid(
      `the returned object is ${text.length} characters as JSON, over the limit of __MAX_RESULT_CHARS__`
    );
  }
  return text;
})()
"""
for _name, _value in {
    "__MAX_LOG_CHARS__": MAX_LOG_CHARS,
    "__MAX_LOG_LINE_CHARS__": MAX_LOG_LINE_CHARS,
    "__MAX_RESULT_CHARS__": MAX_RESULT_CHARS,
    "__FUNCTION_HEADER_LINES__": FUNCTION_HEADER_LINES,
    "__LOG_LINE_OVERHEAD_CHARS__": LOG_LINE_OVERHEAD_CHARS,
}.items():
    WRAPPER_SOURCE = WRAPPER_SOURCE.replace(_name, str(_value))


class ParentChannel:
    """The protocol side of stdout. Anything else written to stdout goes to stderr."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out: BinaryIO = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)

    def send_text(self, text: str) -> None:
        try:
            self._out.write(text.encode("utf-8") + b"\n")
            self._out.flush()
        except (BrokenPipeError, ValueError):
            # The parent has exited, so no reply can reach it and this process ends too.
            os._exit(1)

    def send(self, message: dict[str, Any]) -> None:
        self.send_text(json.dumps(message, ensure_ascii=False))


def apply_backstop_limits(time_seconds: float, memory_bytes: int) -> None:
    """Set this process's CPU time and address space limits a margin above the script's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_used = usage.ru_utime + usage.ru_stime
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu_soft = math.ceil(cpu_used + time_seconds + CPU_MARGIN_SECONDS)
    if cpu_hard != resource.RLIM_INFINITY:
        cpu_soft = min(cpu_soft, cpu_hard)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_soft, cpu_hard))

    address_space = _address_space_bytes()
    if address_space is None:
        return
    _, as_hard = resource.getrlimit(resource.RLIMIT_AS)
    # Twice the QuickJS limit, because log and result strings are copied out of QuickJS.
    as_soft = address_space + 2 * memory_bytes + ADDRESS_SPACE_MARGIN_BYTES
    if as_hard != resource.RLIM_INFINITY:
        as_soft = min(as_soft, as_hard)
    resource.setrlimit(resource.RLIMIT_AS, (as_soft, as_hard))


def _address_space_bytes() -> int | None:
    """Return this process's virtual memory size, or None where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def error_reply(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)


def memory_message(memory_bytes: int) -> str:
    return f"the script exceeded the memory limit of {memory_bytes / 1024**2:g} MiB"


def reply_for_uncaught(exc: Exception, time_seconds: float, memory_bytes: int) -> str:
    """Return the reply for an exception that escaped the wrapper."""
    text = str(exc)
    first_line = text.splitlines()[0] if text else type(exc).__name__
    if "InternalError: interrupted" in first_line:
        return error_reply("SCRIPT_TIMEOUT", f"the script did not end within {time_seconds:g} s")
    # The wrapper catches what the script throws, so a bare null comes from a failed
    # allocation of an error object.
    if isinstance(exc, MemoryError) or "out of memory" in first_line or first_line == "null":
        return error_reply("SCRIPT_MEMORY_EXCEEDED", memory_message(memory_bytes))
    return error_reply("SCRIPT_ERROR", first_line)


def reply_for_wrapper(text: Any, memory_bytes: int) -> str:
    """Check the wrapper's JSON reply and add the script location to an error message."""
    unreadable = error_reply("SCRIPT_RESULT_INVALID", "the script's result could not be read")
    if not isinstance(text, str):
        return unreadable
    try:
        reply = json.loads(text)
        # A lone surrogate in an object key survives JSON but cannot be encoded as UTF-8.
        if "\\ud" in text:
            json.dumps(reply, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeError):
        return error_reply(
            "SCRIPT_RESULT_INVALID", "the returned object contains text that is not valid Unicode"
        )
    except RecursionError:
        return error_reply("SCRIPT_RESULT_INVALID", "the returned object is nested too deeply")
    if not isinstance(reply, dict):
        return unreadable
    error = reply.get("error")
    if not isinstance(error, dict):
        return text

    code = str(error.get("code"))
    message = str(error.get("message"))
    if code == "SCRIPT_MEMORY_EXCEEDED":
        message = memory_message(memory_bytes)
    line, column = error.get("line"), error.get("column")
    if isinstance(line, int) and line >= 1:
        message = f"{message} (line {line}, column {column})"
    return error_reply(code, message)


def send_console_log(context: Any, memory_bytes: int, channel: ParentChannel) -> None:
    """Collect the script's buffered console lines from the context and send them."""
    try:
        context.set_memory_limit(memory_bytes + LOG_COLLECTION_MARGIN_BYTES)
        collected = json.loads(context.eval("__steplineTakeLog()"))
        entries, dropped = collected["entries"], collected["dropped"]
        levels, messages = entries[0::2], entries[1::2]
    except (quickjs.JSException, MemoryError, ValueError, KeyError, TypeError):
        channel.send({"logs": [["warn", "the script's console output could not be read"]]})
        return
    lines = [[level, message] for level, message in zip(levels, messages, strict=True)]
    if dropped:
        limit = f"{MAX_LOG_CHARS // 1024**2} Mi characters"
        note = f"{dropped} console lines were dropped after the limit of {limit} of console output"
        lines.append(["warn", note])
    channel.send({"logs": lines})


def run_script(request: dict[str, Any], channel: ParentChannel) -> str:
    """Run one script in a fresh QuickJS context, send its console lines and return the reply."""
    time_seconds = float(request["timeSeconds"])
    memory_bytes = int(request["memoryBytes"])
    apply_backstop_limits(time_seconds, memory_bytes)
    context = quickjs.Context()
    try:
        context.set_memory_limit(memory_bytes)
        context.set_time_limit(time_seconds)
        context.set("__steplineSource", str(request["script"]))
        context.set("__steplineInputs", json.dumps(request["inputs"], ensure_ascii=False))
        reply = reply_for_wrapper(context.eval(WRAPPER_SOURCE), memory_bytes)
    except (quickjs.JSException, MemoryError) as exc:
        reply = reply_for_uncaught(exc, time_seconds, memory_bytes)
    send_console_log(context, memory_bytes, channel)
    return reply


def main() -> None:
    channel = ParentChannel()
    channel.send({"ready": True})
    for line in sys.stdin.buffer:
        try:
            reply = run_script(json.loads(line), channel)
        except Exception as exc:
            # The process state is unknown, so report the error and exit. The parent starts another.
            traceback.print_exc()
            message = f"internal error in the JavaScript sandbox: {type(exc).__name__}: {exc}"
            channel.send_text(error_reply("SANDBOX_FAILED", message))
            return
        channel.send_text(reply)


if __name__ == "__main__":
    main()
