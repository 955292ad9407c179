"""Running the `stepline` client as a real subprocess against a real `stepline serve`."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.e2e.serve import Server

CLI_TIMEOUT_SECONDS = 90.0
# Variables of the developer's shell that would change what the client does.
CLEARED_VARIABLES = ("STEPLINE_SERVER", "STEPLINE_TOKEN", "STEPLINE_TENANT", "STEPLINE_DATA_DIR", "COLUMNS")


@dataclass(frozen=True)
class CliResult:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (
            f"stepline {' '.join(self.args)} -> {self.code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        )


@dataclass
class Cli:
    """The client with a private configuration file, aimed at one server by environment variables."""

    config_path: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def environment(self, **extra: str) -> dict[str, str]:
        base = {key: value for key, value in os.environ.items() if key not in CLEARED_VARIABLES}
        return {**base, "STEPLINE_CONFIG": str(self.config_path), **self.env, **extra}

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "stepline.cli.main", *args]

    def run(self, *args: str, input: str | None = None, **extra_env: str) -> CliResult:
        # A new session has no controlling terminal, so prompts read standard input.
        completed = subprocess.run(
            self.command(*args),
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=self.environment(**extra_env),
            cwd=self.cwd,
            timeout=CLI_TIMEOUT_SECONDS,
            start_new_session=True,
        )
        return CliResult(tuple(args), completed.returncode, completed.stdout, completed.stderr)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start the client in the background, with its standard output as a pipe of lines."""
        return subprocess.Popen(
            self.command(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=self.environment(),
            cwd=self.cwd,
            start_new_session=True,
        )


def make_cli(server: Server, tmp_path: Path) -> Cli:
    """Return a client aimed at `server` with its admin token, through STEPLINE_SERVER and STEPLINE_TOKEN."""
    return Cli(
        config_path=tmp_path / "config" / "config.toml",
        cwd=tmp_path,
        env={"STEPLINE_SERVER": server.url, "STEPLINE_TOKEN": server.token},
    )


def closed_port() -> int:
    """Return a loopback port that nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class LineReader:
    """Collects the lines of a background process's pipe in a thread, so waits can time out."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 30.0) -> list[str]:
        """Return the lines read so far once one contains `text`; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {text!r} in {timeout} s; got {self.lines}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the output ended without a line with {text!r}; got {self.lines}")
            self.lines.append(line)
            if text in line:
                return self.lines

    def rest(self, timeout: float = 30.0) -> list[str]:
        """Return every line, after waiting up to `timeout` seconds for the pipe to close."""
        self._thread.join(timeout)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.lines.append(line)
        return self.lines


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def checked_design(name: str = "checked") -> dict[str, Any]:
    """s0 -> s1 (JS: logs n, fails when n is negative, else doubles it) -> s2."""
    script = (
        "console.log('n is ' + inputs.n); if (inputs.n < 0) throw new Error('n is negative'); "
        "return {doubled: inputs.n * 2};"
    )
    return {
        "name": name,
        "version": "1",
        "schemaVersion": "3.0",
        "inputs": {"n": {"type": "integer", "required": True}},
        "variables": {"doubled": {"type": "integer"}},
        "outputs": {"doubled": {"type": "integer"}},
        "startStepId": "s0",
        "steps": {
            "s0": {"type": "NOOP", "nextStepId": "s1"},
            "s1": {
                "type": "JS",
                "inBindings": {
                    "script": {"type": "string", "defaultValue": script},
                    "n": {"type": "integer", "exportName": "n"},
                },
                "outBindings": {"doubled": {"name": "doubled", "type": "integer"}},
                "nextStepId": "s2",
            },
            "s2": {"type": "NOOP"},
        },
    }


def legacy_design() -> dict[str, Any]:
    """A schemaVersion 1.0 design: a -> b, with a condition that ends the run early."""
    return {
        "name": "legacy",
        "version": "1",
        "schemaVersion": "1.0",
        "inputs": {"n": {"type": "integer"}},
        "steps": [
            {
                "stepId": "a",
                "type": "NOOP",
                "nextStep": "b",
                "conditions": [{"name": "n", "comparator": "greater", "value": 3, "nextStep": "END"}],
            },
            {"stepId": "b", "type": "NOOP", "nextStep": "END"},
        ],
    }
