"""Measure how fast the engine moves executions through NOOP steps.

For each database (SQLite and/or PostgreSQL) the script starts a real `stepline serve`
(API with its in-process worker) on a free loopback port and drives it with httpx through
two cases:

  (a) One execution of `--steps` sequential NOOP steps. It reports the time per step from
      the create response to COMPLETED, and the spread of the steps' startTime/endTime.
  (b) `--executions` executions of `--chain` NOOP steps, all created at once. It reports
      step transitions per second from the first create request to the last COMPLETED.

Completion is taken from the server's `endTime`, because polling adds up to one poll
interval on the client side; both clocks are this machine's. PostgreSQL runs use a fresh
database, named uniquely and dropped at the end. `--workers N` adds N `stepline worker`
processes to the PostgreSQL run.

    python bench/engine_throughput.py                     # both databases
    python bench/engine_throughput.py --db postgresql --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from harness import (
    BenchError,
    ManagedProcess,
    Server,
    check_loopback,
    create_workflow,
    exit_on_sigterm,
    machine_facts,
    noop_chain,
    parse_api_time,
    postgres_version,
    print_facts,
    run_checked,
    spread,
    sqlite_version,
    stepline_command,
    stepline_env,
    temporary_postgres_database,
    wait_for_log_line,
)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432"
NOT_ENDED = ("QUEUED", "RUNNING", "PAUSED")
ENDED = ("COMPLETED", "FAILED", "ABORTED")
POLL_SECONDS = 0.1
LIST_PAGE = 500


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", choices=["sqlite", "postgresql", "both"], default="both", help="database(s) (default both)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="extra `stepline worker` processes for the PostgreSQL run (default 0)",
    )
    parser.add_argument(
        "--case", choices=["a", "b", "both"], default="both", help="which case to run (default both)"
    )
    parser.add_argument("--steps", type=int, default=200, help="NOOP steps of case (a) (default 200)")
    parser.add_argument(
        "--executions", type=int, default=200, help="executions created at once in case (b) (default 200)"
    )
    parser.add_argument(
        "--chain", type=int, default=10, help="NOOP steps per execution in case (b) (default 10)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds allowed for each case before the script fails (default 300)",
    )
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL server without a database name; loopback only (default {DEFAULT_PG_URL})",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="run each server under cProfile and write serve-<db>.prof to this folder; the profile "
        "covers the whole process, start-up included, and the numbers are slower than normal",
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="parent folder of the temporary data directories (default: the system temp folder)",
    )
    args = parser.parse_args(argv)
    for name in ("steps", "executions", "chain"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.workers < 0:
        parser.error("--workers must be 0 or more")
    try:
        check_loopback(args.pg_url)
    except BenchError as exc:
        parser.error(str(exc))
    return args


# --- measuring CPU ---------------------------------------------------------------


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def _backend_cpu(database: str | None) -> dict[tuple[int, float], float]:
    """Return the CPU seconds of each PostgreSQL backend serving `database`, by (pid, start time).

    A backend's process title names its database ("postgres: user db 127.0.0.1(port) idle"),
    so backends of other databases on the same server are left out.
    """
    if database is None:
        return {}
    found = {}
    for process in psutil.process_iter(["name", "cmdline", "create_time"]):
        title = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and f" {database} " in title:
            found[(process.pid, process.info["create_time"])] = _cpu_seconds(process)
    return found


@dataclass
class CpuMark:
    """CPU seconds used so far by stepline, its PostgreSQL backends, this script and the machine.

    The backends' share misses backends that exited between two marks, so it is a lower bound.
    """

    wall: float
    stepline: float
    backends: dict[tuple[int, float], float]
    client: float
    machine_busy: float

    @classmethod
    def take(cls, processes: list[ManagedProcess], database: str | None) -> CpuMark:
        stepline = sum(_cpu_seconds(member) for managed in processes for member in managed.tree())
        machine = psutil.cpu_times()
        busy = machine.user + machine.system + machine.nice + machine.irq + machine.softirq
        return cls(time.monotonic(), stepline, _backend_cpu(database), _cpu_seconds(psutil.Process()), busy)

    def describe_since(self, start: CpuMark) -> str:
        wall = self.wall - start.wall
        cores = psutil.cpu_count() or 1
        backends = sum(seconds - start.backends.get(key, 0.0) for key, seconds in self.backends.items())
        shares = {
            "stepline": self.stepline - start.stepline,
            "its PostgreSQL backends": backends,
            "this script": self.client - start.client,
        }
        machine = self.machine_busy - start.machine_busy
        shares["everything else"] = max(0.0, machine - sum(shares.values()))
        parts = ", ".join(
            f"{name} {seconds:.1f} s ({100 * seconds / wall:.0f}%)" for name, seconds in shares.items()
        )
        return (
            f"CPU over {wall:.1f} s, in % of one core: {parts}. "
            f"The machine was {100 * machine / (wall * cores):.0f}% busy over {cores} cores."
        )


# --- the cases -------------------------------------------------------------------


def create_request(workflow_id: str) -> dict[str, Any]:
    return {"workflowId": workflow_id, "contextType": "NONE"}


def json_of(response: httpx.Response, action: str) -> dict[str, Any]:
    """Return the JSON body of a 200 response, or raise BenchError naming `action`."""
    if response.status_code != 200:
        raise BenchError(f"{action} failed: HTTP {response.status_code} {response.text[:2000]}")
    body: dict[str, Any] = response.json()
    return body


def poll_listing(
    client: httpx.Client,
    server: Server,
    workflow_id: str,
    statuses: tuple[str, ...],
    *,
    until_empty: bool,
    timeout: float,
) -> float:
    """Poll the list of the workflow's executions in `statuses` (at most one item per page).

    Returns the time when the list became empty (`until_empty`) or non-empty. A page item
    carries its step executions, so the polls ask for statuses that keep pages small: the
    ended ones for a single long execution, the unfinished ones for many short executions.
    """
    params: list[tuple[str, str | int]] = [("workflowId", workflow_id), ("limit", 1)]
    params += [("status", status) for status in statuses]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(server.api("/workflowExecution"), params=params, headers=server.headers)
        items = json_of(response, "listing executions")["items"]
        if bool(items) != until_empty:
            return time.time()
        time.sleep(POLL_SECONDS)
    raise BenchError(f"executions of workflow {workflow_id} did not end within {timeout:g} s")


def list_executions(
    client: httpx.Client, server: Server, workflow_id: str, expected: int
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"workflowId": workflow_id, "limit": LIST_PAGE}
    # A page has up to LIST_PAGE items, so this many pages cover `expected` with one spare.
    for _ in range(expected // LIST_PAGE + 2):
        response = client.get(server.api("/workflowExecution"), params=params, headers=server.headers)
        page = json_of(response, "listing executions")
        items += page["items"]
        if not page.get("nextCursor"):
            return items
        params["cursor"] = page["nextCursor"]
    raise BenchError(f"listing executions of workflow {workflow_id} returned more pages than expected")


def check_completed(execution: dict[str, Any], steps: int) -> None:
    if execution["status"] != "COMPLETED":
        raise BenchError(f"execution {execution['id']} ended {execution['status']}, not COMPLETED")
    results = [step["result"] for step in execution["stepExecutions"]]
    if results != ["SUCCESS"] * steps:
        raise BenchError(f"execution {execution['id']} has step results {results}, expected {steps} SUCCESS")


def run_chain(client: httpx.Client, server: Server, steps: int, timeout: float) -> dict[str, Any]:
    """Case (a): one execution of `steps` sequential NOOP steps."""
    workflow_id = create_workflow(client, server, noop_chain(steps, f"bench chain of {steps}"))
    response = client.put(
        server.api("/workflowExecution"), json=create_request(workflow_id), headers=server.headers
    )
    created_at = time.time()
    execution_id = json_of(response, "creating an execution")["id"]
    seen_at = poll_listing(client, server, workflow_id, ENDED, until_empty=False, timeout=timeout)

    response = client.get(server.api(f"/workflowExecution/{execution_id}"), headers=server.headers)
    execution = json_of(response, "reading the execution")
    check_completed(execution, steps)
    creation = parse_api_time(execution["creationTime"])
    end = parse_api_time(execution["endTime"])
    starts = [parse_api_time(step["startTime"]) for step in execution["stepExecutions"]]
    ends = [parse_api_time(step["endTime"]) for step in execution["stepExecutions"]]
    return {
        "per_step_ms": 1000 * (end - created_at) / steps,
        "per_step_server_ms": 1000 * (end - creation) / steps,
        "per_step_polled_ms": 1000 * (seen_at - created_at) / steps,
        "total_s": end - created_at,
        "queue_ms": 1000 * (starts[0] - creation),
        "durations_ms": [1000 * (e - s) for s, e in zip(starts, ends, strict=True)],
        "gaps_ms": [1000 * (s - e) for e, s in zip(ends[:-1], starts[1:], strict=True)],
    }


async def create_all(server: Server, workflow_id: str, count: int, timeout: float) -> tuple[float, float]:
    """Send `count` create requests at once.

    Returns the epoch times when the first request was sent and the last response arrived.
    """
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, headers=server.headers) as client:
        request = create_request(workflow_id)

        async def create_one() -> None:
            json_of(await client.put(server.api("/workflowExecution"), json=request), "creating an execution")

        first_sent = time.time()
        await asyncio.wait_for(asyncio.gather(*(create_one() for _ in range(count))), timeout)
        return first_sent, time.time()


def run_many(
    client: httpx.Client, server: Server, executions: int, chain: int, timeout: float
) -> dict[str, Any]:
    """Case (b): `executions` executions of `chain` NOOP steps, created at once."""
    workflow_id = create_workflow(client, server, noop_chain(chain, f"bench chain of {chain}"))
    first_sent, last_created = asyncio.run(create_all(server, workflow_id, executions, timeout))
    seen_at = poll_listing(client, server, workflow_id, NOT_ENDED, until_empty=True, timeout=timeout)

    items = list_executions(client, server, workflow_id, executions)
    if len(items) != executions:
        raise BenchError(f"expected {executions} executions of workflow {workflow_id}, found {len(items)}")
    for item in items:
        check_completed(item, chain)
    ends = [parse_api_time(item["endTime"]) for item in items]
    latencies = [
        1000 * (end - parse_api_time(item["creationTime"])) for item, end in zip(items, ends, strict=True)
    ]
    wall = max(ends) - first_sent
    return {
        "wall_s": wall,
        "steps_per_s": executions * chain / wall,
        "executions_per_s": executions / wall,
        "create_s": last_created - first_sent,
        "polled_wall_s": seen_at - first_sent,
        "latencies_ms": latencies,
    }


# --- one database ----------------------------------------------------------------


def start_workers(count: int, env: dict[str, str], work_dir: Path, stack: ExitStack) -> list[ManagedProcess]:
    workers = []
    for index in range(count):
        worker = ManagedProcess(
            f"stepline worker {index + 1}",
            stepline_command("worker"),
            env,
            work_dir / f"worker-{index + 1}.log",
        )
        stack.callback(worker.stop)
        workers.append(worker)
    for worker in workers:
        wait_for_log_line(worker, "worker_started", 60)
    return workers


def print_profile(path: Path) -> None:
    if not path.exists():
        print(f"  (no profile at {path}: the server did not exit normally)")
        return
    print(f"\n  cProfile of the server, written to {path}; top functions by own time:")
    stats = pstats.Stats(str(path), stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(20)
    print("  top functions by cumulative time:")
    stats.sort_stats("cumulative").print_stats(25)


def run_database(kind: str, args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    data_dir = work_dir / kind / "data"
    data_dir.mkdir(parents=True)
    extra_workers = args.workers if kind == "postgresql" else 0
    results: dict[str, Any] = {"db": kind, "workers": extra_workers}
    profile_path = args.profile / f"serve-{kind}.prof" if args.profile else None
    with ExitStack() as stack:
        settings: dict[str, str] = {}
        database = None
        if kind == "postgresql":
            database_url = stack.enter_context(temporary_postgres_database(args.pg_url))
            settings["database_url"] = database_url
            database = database_url.rsplit("/", 1)[1]
            results["version"] = postgres_version(database_url)
        else:
            results["version"] = sqlite_version()
        env = stepline_env(data_dir, **settings)
        run_checked(stepline_command("db", "upgrade"), env, timeout=120)

        python_args = ["-m", "cProfile", "-o", str(profile_path)] if profile_path else None
        server = Server(data_dir, work_dir / kind / "serve.log", settings=settings, python_args=python_args)
        stack.callback(server.stop)
        server.wait_ready()
        processes = [server.process, *start_workers(extra_workers, server.env, work_dir / kind, stack)]

        print(f"\n== {results['version']}, in-process worker + {extra_workers} extra worker process(es)")
        try:
            run_cases(server, processes, database, args, results)
        except BenchError as exc:
            raise BenchError(f"{exc}\nlast lines of the server log:\n{server.process.log_tail()}") from exc
    if profile_path:
        print_profile(profile_path)
    return results


def run_cases(
    server: Server,
    processes: list[ManagedProcess],
    database: str | None,
    args: argparse.Namespace,
    results: dict[str, Any],
) -> None:
    """Run the selected cases against one server, print them and add them to `results`."""
    timeout = httpx.Timeout(args.timeout, connect=10.0)
    with httpx.Client(timeout=timeout) as client:
        # A short execution first, so one-time imports are not counted in case (a).
        run_chain(client, server, 10, args.timeout)

        if args.case in ("a", "both"):
            before = CpuMark.take(processes, database)
            chain = run_chain(client, server, args.steps, args.timeout)
            cpu = CpuMark.take(processes, database).describe_since(before)
            results["chain"] = chain
            print(f"(a) one execution of {args.steps} NOOP steps:")
            print(
                f"    {chain['per_step_ms']:.2f} ms per step from the create response to endTime "
                f"({chain['total_s']:.2f} s in all)"
            )
            print(
                f"    {chain['per_step_server_ms']:.2f} ms per step from creationTime to endTime; "
                f"{chain['per_step_polled_ms']:.2f} ms as seen by polling every {POLL_SECONDS:g} s"
            )
            print(f"    creationTime to first step start: {chain['queue_ms']:.0f} ms")
            print(f"    step endTime - startTime (ms): {spread(chain['durations_ms'])}")
            print(f"    gap from a step's endTime to the next startTime (ms): {spread(chain['gaps_ms'])}")
            print(f"    {cpu}")

        if args.case in ("b", "both"):
            before = CpuMark.take(processes, database)
            many = run_many(client, server, args.executions, args.chain, args.timeout)
            cpu = CpuMark.take(processes, database).describe_since(before)
            results["many"] = many
            total = args.executions * args.chain
            print(f"(b) {args.executions} executions of {args.chain} NOOP steps, created at once:")
            print(
                f"    {many['steps_per_s']:.1f} step transitions/s ({total} steps in {many['wall_s']:.2f} s "
                f"from the first create request to the last endTime)"
            )
            print(
                f"    {many['executions_per_s']:.2f} executions/s; the {args.executions} creates took "
                f"{many['create_s']:.2f} s; polling saw the end after {many['polled_wall_s']:.2f} s"
            )
            print(f"    creationTime to endTime per execution (ms): {spread(many['latencies_ms'])}")
            print(f"    {cpu}")


def print_summary(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print("\nsummary:")
    print(f"  {'database':<22} {'workers':>7} {'(a) ms/step':>12} {'(b) steps/s':>12}")
    for result in results:
        chain = f"{result['chain']['per_step_ms']:.2f}" if "chain" in result else "-"
        many = f"{result['many']['steps_per_s']:.1f}" if "many" in result else "-"
        print(f"  {result['version']:<22} {1 + result['workers']:>7} {chain:>12} {many:>12}")
    print(
        f"  (a) {args.steps} sequential steps in one execution; "
        f"(b) {args.executions} x {args.chain} steps created at once; workers include the in-process one"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    print("machine:")
    print_facts(machine_facts())
    if args.workers and "postgresql" not in kinds:
        print("note: --workers applies to the PostgreSQL run only; SQLite runs with the in-process worker")

    work_dir = Path(tempfile.mkdtemp(prefix="stepline-bench-engine-", dir=args.tmp_dir))
    results = []
    try:
        for kind in kinds:
            results.append(run_database(kind, args, work_dir))
    except BenchError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print_summary(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
