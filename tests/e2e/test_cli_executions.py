"""`stepline run` and `stepline executions` against a real `stepline serve`, with their exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_helpers import Cli, LineReader, checked_design, closed_port, make_cli, stop, write_json
from tests.e2e.serve import Server, run_serve
from tests.helpers import EXAMPLES

INVENTORY = EXAMPLES / "inventory-report"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[Server]:
    with run_serve(tmp_path_factory.mktemp("serve") / "data", module_db_url) as running:
        yield running


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    return make_cli(server, tmp_path)


@pytest.fixture
def workflow_id(cli: Cli, tmp_path: Path) -> str:
    """A stored `checked` design: s0 -> s1 (JS, fails when input n < 0) -> s2."""
    result = cli.run(
        "workflows", "create", str(write_json(tmp_path / "checked.json", checked_design())), "--json"
    )
    assert result.code == 0, result
    created: str = result.json()["id"]
    return created


def start(cli: Cli, workflow_id: str, *args: str) -> dict[str, Any]:
    result = cli.run("executions", "start", workflow_id, "--json", *args)
    assert result.code == 0, result
    execution: dict[str, Any] = result.json()
    return execution


def wait(cli: Cli, execution_id: str) -> dict[str, Any]:
    """Wait for the end or a pause with `executions get --wait --json`; return the execution."""
    result = cli.run("executions", "get", execution_id, "--wait", "--json")
    assert result.code in (0, 1), result
    execution: dict[str, Any] = result.json()
    return execution


def steps(execution: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(s["stepSnapshot"]["id"], s["state"], s.get("result")) for s in execution["stepExecutions"]]


def test_run_inventory_example(cli: Cli) -> None:
    result = cli.run(
        "run",
        str(INVENTORY / "design.json"),
        "--input",
        "site=north",
        "--file",
        f"inventory={INVENTORY / 'inventory.csv'}",
    )

    assert result.code == 0, result
    lines = result.stdout.splitlines()
    assert lines[0].startswith("execution ex-")
    assert lines[0].endswith(" QUEUED")
    assert "  step 0 countDevices: finished SUCCESS" in lines
    assert "  step 2 largeSite: finished SUCCESS" in lines
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary == {
        "status": "COMPLETED",
        "outputs": {"summary": "Site north: 5 devices, large site", "deviceCount": 5},
    }


def test_run_failing_step_exit_1(cli: Cli, tmp_path: Path) -> None:
    design = write_json(tmp_path / "checked.json", checked_design())

    result = cli.run("run", str(design), "-i", "n=-1")

    assert result.code == 1, result
    assert "  step 1 s1: finished FAILURE SCRIPT_ERROR: Error: n is negative" in result.stdout
    assert json.loads(result.stdout[result.stdout.index("{") :])["status"] == "FAILED"


def test_run_pause_at_failure_exit_1(cli: Cli, tmp_path: Path) -> None:
    design = write_json(tmp_path / "checked.json", checked_design())

    result = cli.run("run", str(design), "-i", "n=-1", "--pause-at-failure")

    assert result.code == 1, result
    assert json.loads(result.stdout[result.stdout.index("{") :])["status"] == "PAUSED"
    assert "is PAUSED at step s1" in result.stderr
    assert "stepline executions resume ex-" in result.stderr


def test_run_options_after_command(cli: Cli, server: Server, tmp_path: Path) -> None:
    design = write_json(tmp_path / "checked.json", checked_design())
    unreachable = f"http://127.0.0.1:{closed_port()}"

    result = cli.run(
        "--server", unreachable, "run", str(design), "-i", "n=1", "--server", server.url, "--no-follow"
    )

    assert result.code == 0, result
    assert result.stdout.startswith("execution ex-")


def test_run_invalid_input_exit_2(cli: Cli, tmp_path: Path) -> None:
    design = write_json(tmp_path / "checked.json", checked_design())

    result = cli.run("run", str(design), "-i", "n=three")

    assert result.code == 2, result
    assert "invalid --input n: 'three' is not a valid integer" in result.stderr


def test_run_unreachable_exit_3(cli: Cli) -> None:
    url = f"http://127.0.0.1:{closed_port()}"

    result = cli.run("run", str(INVENTORY / "design.json"), "-i", "site=x", STEPLINE_SERVER=url)

    assert result.code == 3, result
    assert f"server {url} unreachable" in result.stderr


def test_start_wait_and_get(cli: Cli, workflow_id: str) -> None:
    result = cli.run("executions", "start", workflow_id, "-i", "n=21", "--wait")

    assert result.code == 0, result
    assert "  step 1 s1: finished SUCCESS" in result.stdout
    execution_id = result.stdout.split()[1]
    assert result.stdout.splitlines()[-1] == f"execution {execution_id} COMPLETED"

    got = cli.run("executions", "get", execution_id, "--json")
    assert got.code == 0, got
    assert got.json()["outputs"] == {"doubled": 42}
    assert got.json()["assignments"] == {"n": 21}

    details = cli.run("executions", "get", execution_id)
    assert details.code == 0, details
    assert "COMPLETED" in details.stdout
    assert '{"doubled": 42}' in details.stdout
    step_row = next(line for line in details.stdout.splitlines() if line.startswith("1 "))
    assert step_row.split()[:5] == ["1", "s1", "JS", "finished", "SUCCESS"]


def test_get_wait_failed_exit_1(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=-5")

    result = cli.run("executions", "get", execution["id"], "--wait")

    assert result.code == 1, result
    assert "FAILED" in result.stdout
    assert "SCRIPT_ERROR: Error: n is negative" in result.stdout


def test_start_with_large_file(cli: Cli, tmp_path: Path) -> None:
    workflow = cli.run("workflows", "create", str(INVENTORY / "design.json"), "--json").json()
    inventory = tmp_path / "big-inventory.csv"
    rows = [f"device{i},rack{i % 40},2026-01-01" for i in range(60_000)]
    inventory.write_text("name,rack,installed\n" + "\n".join(rows) + "\n")
    assert inventory.stat().st_size > 1024 * 1024

    result = cli.run(
        "executions", "start", workflow["id"], "-i", "site=depot", "-f", f"inventory={inventory}", "--wait"
    )

    assert result.code == 0, result
    assert "uploading big-inventory.csv" in result.stderr
    execution_id = result.stdout.split()[1]
    outputs = cli.run("executions", "get", execution_id, "--json").json()["outputs"]
    assert outputs == {"summary": "Site depot: 60000 devices, large site", "deviceCount": 60000}


def test_logs_follow_until_completed(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=2", "--debug-step", "s2")
    follower = cli.start("executions", "logs", execution["id"], "-f")
    try:
        output = LineReader(follower.stdout)  # type: ignore[arg-type]
        output.wait_for("paused before step 's2'")
        assert follower.poll() is None

        resumed = cli.run("executions", "resume", execution["id"])
        assert resumed.code == 0, resumed

        assert follower.wait(timeout=60) == 0
        lines = output.rest()
    finally:
        stop(follower)
    assert any("INFO  [step 1] n is 2" in line for line in lines)
    assert "execution completed" in lines[-1]
    assert f"execution {execution['id']} COMPLETED" in follower.stderr.read()  # type: ignore[union-attr]


def test_logs_follow_failed_exit_1(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=-3", "--debug-step", "s1")
    follower = cli.start("executions", "logs", execution["id"], "--follow", "--json")
    try:
        output = LineReader(follower.stdout)  # type: ignore[arg-type]
        output.wait_for("paused before step")

        assert cli.run("executions", "resume", execution["id"]).code == 0

        assert follower.wait(timeout=60) == 1
        entries = [json.loads(line) for line in output.rest()]
    finally:
        stop(follower)
    errors = [entry for entry in entries if entry["level"] == "ERROR"]
    assert errors[0]["stepExecutionId"] == "1"
    assert "SCRIPT_ERROR: Error: n is negative" in errors[0]["msg"]
    assert entries[-1]["msg"].startswith("execution failed")


def test_logs_of_ended_execution(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=3")
    assert wait(cli, execution["id"])["status"] == "COMPLETED"

    text = cli.run("executions", "logs", execution["id"])
    assert text.code == 0, text
    lines = text.stdout.splitlines()
    assert lines[0].endswith("INFO  [execution] execution queued")
    assert any(line.endswith("INFO  [step 1] n is 3") for line in lines)

    as_json = cli.run("executions", "logs", execution["id"], "--json", "--step", "1")
    assert as_json.code == 0, as_json
    entries = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(entry["stepExecutionId"], entry["msg"]) for entry in entries] == [("1", "n is 3")]

    followed = cli.run("executions", "logs", execution["id"], "-f")
    assert followed.code == 0, followed
    assert followed.stdout == text.stdout


def test_logs_missing_execution_exit_2(cli: Cli) -> None:
    result = cli.run("executions", "logs", "ex-missing", "-f")

    assert result.code == 2, result
    assert "execution 'ex-missing' not found" in result.stderr


def test_logs_follow_unreachable_exit_3(cli: Cli) -> None:
    result = cli.run(
        "executions", "logs", "ex-any", "-f", STEPLINE_SERVER=f"http://127.0.0.1:{closed_port()}"
    )

    assert result.code == 3, result
    assert "unreachable" in result.stderr


def test_abort_paused_execution(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=1", "--debug-step", "s1")
    assert wait(cli, execution["id"])["status"] == "PAUSED"

    aborted = cli.run("executions", "abort", execution["id"])

    assert aborted.code == 0, aborted
    assert aborted.stdout.strip() == f"execution {execution['id']} ABORTED"
    waited = cli.run("executions", "get", execution["id"], "--wait", "--json")
    assert waited.code == 1, waited
    assert waited.json()["aborted"] is True
    followed = cli.run("executions", "logs", execution["id"], "-f")
    assert followed.code == 1, followed
    assert "execution aborted" in followed.stdout
    again = cli.run("executions", "abort", execution["id"])
    assert again.code == 2, again
    assert "HTTP 409" in again.stderr


def test_resume_with_corrected_input(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=-1", "--debug-step", "s1")
    assert wait(cli, execution["id"])["status"] == "PAUSED"

    result = cli.run("executions", "resume", execution["id"], "--input", "n=5", "--wait")

    assert result.code == 0, result
    assert result.stdout.startswith(f"execution {execution['id']} resumed: ")
    final = cli.run("executions", "get", execution["id"], "--json").json()
    assert final["status"] == "COMPLETED"
    assert final["assignments"] == {"n": 5}
    assert final["outputs"] == {"doubled": 10}


def test_retry_failed_execution(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=-2")
    assert wait(cli, execution["id"])["status"] == "FAILED"

    result = cli.run("executions", "retry", execution["id"], "-i", "n=4", "--wait", "--json")

    assert result.code == 0, result
    final = result.json()
    assert final["status"] == "COMPLETED"
    assert steps(final) == [
        ("s0", "finished", "SUCCESS"),
        ("s1", "finished", "FAILURE"),
        ("s1", "finished", "SUCCESS"),
        ("s2", "finished", "SUCCESS"),
    ]
    assert final["outputs"] == {"doubled": 8}


def test_retry_with_changed_step(cli: Cli, workflow_id: str, tmp_path: Path) -> None:
    execution = start(cli, workflow_id, "-i", "n=-2")
    assert wait(cli, execution["id"])["status"] == "FAILED"
    fixed = checked_design()["steps"]["s1"]
    fixed["inBindings"]["script"]["defaultValue"] = "return {doubled: Math.abs(inputs.n) * 2};"
    steps_file = write_json(tmp_path / "steps.json", {"s1": fixed})

    result = cli.run("executions", "retry", execution["id"], "--steps", str(steps_file), "--wait")

    assert result.code == 0, result
    assert cli.run("executions", "get", execution["id"], "--json").json()["outputs"] == {"doubled": 4}


def test_patch_execution(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=2", "--debug-step", "s1")
    assert wait(cli, execution["id"])["status"] == "PAUSED"

    result = cli.run(
        "executions",
        "patch",
        execution["id"],
        "--pause-at-failure",
        "--debug-step",
        "s2",
        "--retained-til",
        "2099-01-01T00:00:00.000Z",
        "--input",
        "n=7",
    )

    assert result.code == 0, result
    assert "changed (assignments, debugStepIds, pauseAtFailure, retainedTil): PAUSED" in result.stdout
    changed = cli.run("executions", "get", execution["id"], "--json").json()
    assert changed["pauseAtFailure"] is True
    assert changed["debugStepIds"] == ["s2"]
    assert changed["retainedTil"] == "2099-01-01T00:00:00.000Z"
    assert changed["assignments"] == {"n": 7}

    restarted = cli.run("executions", "patch", execution["id"], "--start-step", "s0", "--clear-debug-steps")
    assert restarted.code == 0, restarted
    final = wait(cli, execution["id"])
    assert final["status"] == "COMPLETED"
    assert final["outputs"] == {"doubled": 14}


def test_patch_usage_errors(cli: Cli) -> None:
    nothing = cli.run("executions", "patch", "ex-any")
    assert nothing.code == 2, nothing
    assert "nothing to change" in nothing.stderr

    both = cli.run("executions", "patch", "ex-any", "--debug-step", "s1", "--clear-debug-steps")
    assert both.code == 2, both
    assert "either --debug-step or --clear-debug-steps" in both.stderr

    malformed = cli.run("executions", "patch", "ex-any", "--input", "no-equals-sign")
    assert malformed.code == 2, malformed
    assert "invalid --input 'no-equals-sign': use name=value" in malformed.stderr


def test_delete_execution(cli: Cli, workflow_id: str) -> None:
    execution = start(cli, workflow_id, "-i", "n=1", "--debug-step", "s2")
    assert wait(cli, execution["id"])["status"] == "PAUSED"

    delete_while_paused = cli.run("executions", "delete", execution["id"])
    assert delete_while_paused.code == 2, delete_while_paused
    assert "abort it before deleting it (EXECUTION_NOT_ENDED) [HTTP 409]" in delete_while_paused.stderr

    assert cli.run("executions", "abort", execution["id"]).code == 0
    deleted = cli.run("executions", "delete", execution["id"])
    assert deleted.code == 0, deleted
    assert deleted.stdout.strip() == f"deleted execution {execution['id']}"

    get_after_delete = cli.run("executions", "get", execution["id"])
    assert get_after_delete.code == 2, get_after_delete
    assert "EXECUTION_NOT_FOUND" in get_after_delete.stderr


def test_list_executions(cli: Cli, workflow_id: str) -> None:
    completed = start(cli, workflow_id, "-i", "n=1")
    failed = start(cli, workflow_id, "-i", "n=-1")
    assert wait(cli, completed["id"])["status"] == "COMPLETED"
    assert wait(cli, failed["id"])["status"] == "FAILED"

    every = cli.run("executions", "list", "--workflow", workflow_id, "--json")
    assert [item["id"] for item in every.json()["items"]] == [failed["id"], completed["id"]]

    only_failed = cli.run("executions", "list", "--workflow", workflow_id, "--status", "FAILED", "--json")
    assert [item["id"] for item in only_failed.json()["items"]] == [failed["id"]]

    table = cli.run(
        "executions", "list", "--workflow", workflow_id, "--status", "COMPLETED", "--status", "FAILED"
    )
    assert table.code == 0, table
    rows = [line.split() for line in table.stdout.splitlines() if line.startswith("ex-")]
    assert [row[:3] for row in rows] == [
        [failed["id"], "FAILED", workflow_id],
        [completed["id"], "COMPLETED", workflow_id],
    ]

    bad_status = cli.run("executions", "list", "--status", "SLEEPING")
    assert bad_status.code == 2, bad_status
    assert "HTTP 400" in bad_status.stderr


def test_start_options_reach_request(cli: Cli, workflow_id: str) -> None:
    options = [
        "-i", "n=1",
        "--context-type", "VNF",
        "--context", "vnfId=vnf-7",
        "--retained-til", "2099-06-01T00:00:00.000Z",
        "--pause-at-failure",
        "--idempotency-key", f"key-{workflow_id}",
    ]  # fmt: skip

    first = start(cli, workflow_id, *options)
    second = start(cli, workflow_id, *options)

    assert second["id"] == first["id"]
    assert first["contextType"] == "VNF"
    assert first["context"] == {"vnfId": "vnf-7"}
    assert first["retainedTil"] == "2099-06-01T00:00:00.000Z"
    assert first["pauseAtFailure"] is True
    assert wait(cli, first["id"])["status"] == "COMPLETED"


def test_list_all_pages_and_time_filter(cli: Cli, workflow_id: str) -> None:
    started = [start(cli, workflow_id, "-i", f"n={n}")["id"] for n in range(3)]

    every = cli.run("executions", "list", "--workflow", workflow_id, "--all", "--json")
    assert every.code == 0, every
    assert [item["id"] for item in every.json()["items"]] == started[::-1]

    first_page = cli.run("executions", "list", "--workflow", workflow_id, "--limit", "2")
    assert "more executions: add --cursor" in first_page.stderr

    future = cli.run(
        "executions", "list", "--workflow", workflow_id, "--created-after", "2099-01-01T00:00:00Z"
    )
    assert future.code == 0, future
    assert future.stdout == ""
    assert "no executions found" in future.stderr
