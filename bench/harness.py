"""Shared parts of the benchmark scripts: machine facts, `stepline` processes, RSS sampling
and throw-away PostgreSQL databases.

Every address used here is on the loopback interface, and `check_loopback` rejects others.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import psutil

API_PREFIX = "/tca/workflows/api/v1/orgs/default"
BENCH_TOKEN = "bench-admin-token-" + uuid.uuid4().hex
MIB = 1024**2
GIB = 1024**3


class BenchError(Exception):
    """A benchmark could not run or its result failed a check."""


# --- machine facts ---------------------------------------------------------------


def _cpu_facts() -> tuple[str, int]:
    model = "unknown"
    count = 0
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "processor":
                count += 1
            elif key == "model name" and model == "unknown":
                model = value.strip()
    return model, count


def _ram_bytes() -> int:
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def filesystem_of(path: Path) -> str:
    """Return the type and device of the mount that contains `path`, from /proc/mounts."""
    resolved = str(path.resolve())
    best = ("", "unknown", "unknown")
    with open("/proc/mounts", encoding="utf-8") as handle:
        for line in handle:
            device, mount_point, fs_type = line.split()[:3]
            inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) > len(best[0]):
                best = (mount_point, fs_type, device)
    return f"{best[1]} ({best[2]} on {best[0]})"


def source_facts() -> str:
    """Describe the `stepline` code under test: its folder, git commit and uncommitted files.

    The benchmarked server imports the same package as this script, so PYTHONPATH can point
    both at a snapshot, e.g. one made with `git archive`.
    """
    import stepline

    package = Path(stepline.__file__).resolve().parent
    where = f"{stepline.__version__} from {package}"
    try:
        commit = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(package), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return f"{where} (not a git checkout)"
    return f"{where}, git commit {commit}, {len(changed)} uncommitted file(s) in that folder"


def machine_facts() -> dict[str, str]:
    """Return the facts printed with every result: CPU, RAM, kernel, Python, versions."""
    model, count = _cpu_facts()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    # Other work on the machine slows every number below; this shows how much there was.
    busy = psutil.cpu_percent(interval=1.0)
    return {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": f"{model}, {count} logical CPUs (/proc/cpuinfo)",
        "ram": f"{_ram_bytes() / GIB:.1f} GiB (MemTotal)",
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "stepline": source_facts(),
        "load": f"load average {load}; CPU {busy:.0f}% busy over the last second, before the benchmark",
    }


def sqlite_version() -> str:
    """Return the SQLite library version of this interpreter, which the server also runs on."""
    return f"SQLite {sqlite3.sqlite_version}"


def postgres_version(url: str) -> str:
    """Return PostgreSQL's `server_version` at `url`."""

    async def query() -> str:
        import asyncpg

        conn = await asyncpg.connect(url, timeout=10)
        try:
            value: str = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        return value

    # server_version reads like "15.20 (Debian 15.20-0+deb12u1)", and the first word is the release.
    return f"PostgreSQL {asyncio.run(query()).split()[0]}"


def print_facts(facts: dict[str, str]) -> None:
    width = max(len(key) for key in facts)
    for key, value in facts.items():
        print(f"  {key:<{width}}  {value}")


# --- numbers ---------------------------------------------------------------------


def parse_size(text: str) -> int:
    """Parse a byte count such as `1048576`, `64MiB` or `1GiB` (binary units only)."""
    number, factor = text.strip(), 1
    for suffix, unit in (("KiB", 1024), ("MiB", MIB), ("GiB", GIB), ("B", 1)):
        if number.endswith(suffix):
            number, factor = number[: -len(suffix)].strip(), unit
            break
    try:
        value = float(number) * factor
    except ValueError as exc:
        raise ValueError(f"invalid size {text!r}; give bytes or a number with KiB, MiB or GiB") from exc
    if value <= 0 or value != int(value):
        raise ValueError(f"invalid size {text!r}; it must be a positive whole number of bytes")
    return int(value)


def percentile(values: list[float], fraction: float) -> float:
    """Return the value at `fraction` (0..1) of the sorted values, nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def spread(values: list[float]) -> str:
    """Format min / median / p95 / max of `values`."""
    if not values:
        return "no values"
    return (
        f"min {min(values):.1f}, median {statistics.median(values):.1f}, "
        f"p95 {percentile(values, 0.95):.1f}, max {max(values):.1f}"
    )


def parse_api_time(text: str) -> float:
    """Return an API time such as `2026-12-04T19:20:32.123Z` as seconds since the epoch."""
    return datetime.fromisoformat(text).timestamp()


# --- processes -------------------------------------------------------------------


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally` blocks stop the servers and delete temp dirs.

    The servers run in their own sessions and do not get the signal themselves.
    """

    def handle(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handle)


def check_loopback(url: str) -> None:
    """Raise BenchError unless `url` names a loopback host: benchmarks never leave this machine."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise BenchError(f"{url!r} is not a loopback address; the benchmarks only use 127.0.0.1 or ::1")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def stepline_command(*args: str) -> list[str]:
    """Return the command line of the `stepline` CLI installed beside this interpreter."""
    script = Path(sys.executable).with_name("stepline")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "stepline.cli.main", *args]


def stepline_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """Return the environment of a `stepline` process under test.

    It is this process's environment without its `STEPLINE_*` variables, so a developer's
    own settings do not leak into a benchmark. `settings` adds variables by setting name:
    `max_file_bytes="1"` becomes `STEPLINE_MAX_FILE_BYTES=1`.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("STEPLINE_")}
    env["STEPLINE_DATA_DIR"] = str(data_dir)
    env["STEPLINE_BOOTSTRAP_TOKEN"] = BENCH_TOKEN
    for key, value in settings.items():
        env[f"STEPLINE_{key.upper()}"] = value
    return env


def run_checked(command: list[str], env: dict[str, str], timeout: float) -> str:
    """Run a short command and return its output. Raise BenchError when it fails."""
    try:
        completed = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{' '.join(command)} timed out after {timeout:g} s") from exc
    if completed.returncode != 0:
        raise BenchError(
            f"{' '.join(command)} failed with exit code {completed.returncode}:\n{completed.stderr[-2000:]}"
        )
    return completed.stdout


class ManagedProcess:
    """A child process with its output in a log file, stopped with SIGTERM, then SIGKILL.

    It starts in its own session, so a terminal's Ctrl-C reaches only the benchmark, which
    then stops it (and the children it started) in `stop()`.
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        log_path: Path,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        # The log file stays open for the life of the process and is closed in stop().
        self._log: IO[bytes] = open(log_path, "wb")
        self.popen = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.process = psutil.Process(self.popen.pid)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(log {self.log_path} not readable: {exc})"

    def tree(self) -> list[psutil.Process]:
        """Return the process and its descendants that are still running."""
        try:
            return [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, grace_seconds: float = 15.0) -> None:
        """Stop the process and every descendant it had; safe to call twice."""
        descendants = self.tree()[1:]
        if self.alive():
            self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                print(
                    f"  {self.name} ignored {self.stop_signal.name} for {grace_seconds:g} s; sending SIGKILL"
                )
                self.popen.kill()
                self.popen.wait(timeout=grace_seconds)
        # psutil checks each process's start time, so a reused pid is never hit.
        for child in descendants:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        self._log.close()


def tree_rss(process: ManagedProcess) -> int:
    """Return the summed RSS of the process and its descendants, in bytes."""
    total = 0
    for member in process.tree():
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def peak_rss_of(pid: int) -> int:
    """Return the kernel's RSS high-water mark (VmHWM) of one process, in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class Server:
    """A `stepline serve` process on a free loopback port, with an HTTP client for its API."""

    def __init__(
        self,
        data_dir: Path,
        log_path: Path,
        *,
        settings: dict[str, str] | None = None,
        python_args: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = stepline_env(data_dir, **(settings or {}))
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(data_dir)]
        stop_signal = signal.SIGTERM
        if python_args:
            # For a profiler: `python <python_args> -m stepline.cli.main serve ...`. uvicorn
            # raises the signal that stopped it again after its shutdown. SIGINT then ends
            # Python with KeyboardInterrupt, so cProfile still writes its file, and SIGTERM
            # would kill the process before that.
            command = [sys.executable, *python_args, "-m", "stepline.cli.main", *args]
            stop_signal = signal.SIGINT
        else:
            command = stepline_command(*args)
        self.process = ManagedProcess("stepline serve", command, self.env, log_path, stop_signal)
        self.headers = {"Authorization": f"Bearer {BENCH_TOKEN}"}

    def api(self, path: str) -> str:
        return f"{self.base_url}{API_PREFIX}{path}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until `/readyz` returns 200. Raise BenchError with the log on failure."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise BenchError(
                    f"stepline serve exited with code {self.process.popen.returncode}:\n"
                    f"{self.process.log_tail()}"
                )
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise BenchError(f"stepline serve was not ready within {timeout:g} s:\n{self.process.log_tail()}")

    def stop(self) -> None:
        self.process.stop()


def wait_for_log_line(process: ManagedProcess, text: str, timeout: float) -> None:
    """Wait until `text` appears in the process's log. Raise BenchError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in process.log_tail(100_000):
            return
        if not process.alive():
            raise BenchError(f"{process.name} exited early:\n{process.log_tail()}")
        time.sleep(0.1)
    raise BenchError(f"{process.name} did not log {text!r} within {timeout:g} s:\n{process.log_tail()}")


def noop_chain(count: int, name: str) -> dict[str, Any]:
    """Return a design of `count` NOOP steps in a row."""
    steps: dict[str, Any] = {}
    for index in range(count):
        step: dict[str, Any] = {"type": "NOOP"}
        if index + 1 < count:
            step["nextStepId"] = f"s{index + 1}"
        steps[f"s{index}"] = step
    return {"name": name, "version": "1", "schemaVersion": "3.0", "startStepId": "s0", "steps": steps}


def create_workflow(client: httpx.Client, server: Server, design: dict[str, Any]) -> str:
    response = client.put(server.api("/workflow"), json=design, headers=server.headers)
    if response.status_code != 200:
        raise BenchError(f"storing the design failed: HTTP {response.status_code} {response.text[:2000]}")
    workflow_id: str = response.json()["id"]
    return workflow_id


# --- RSS sampling ----------------------------------------------------------------


@dataclass
class RssSampler:
    """Samples the summed RSS of a process tree every `interval` seconds in a thread."""

    process: ManagedProcess
    interval: float = 0.05
    samples: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        next_time = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), tree_rss(self.process)))
            next_time += self.interval
            self._stop.wait(max(0.0, next_time - time.monotonic()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def between(self, start: float, end: float) -> list[int]:
        """Return the RSS values sampled between two `time.monotonic()` readings."""
        return [rss for when, rss in list(self.samples) if start <= when <= end]


# --- PostgreSQL ------------------------------------------------------------------


async def _pg_admin(server_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{server_url}/postgres", timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def temporary_postgres_database(server_url: str) -> Iterator[str]:
    """Create a uniquely named empty database, yield its URL and drop it afterwards."""
    check_loopback(server_url)
    name = f"stepline_bench_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(server_url, f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        raise BenchError(
            f"PostgreSQL at {server_url} is not reachable ({exc}); start it or pass --pg-url"
        ) from exc
    try:
        yield f"{server_url}/{name}"
    finally:
        asyncio.run(_pg_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
