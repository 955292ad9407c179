"""Following an execution until it ends or pauses, printing each step as it changes."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.text import Text

from .client import Api
from .errors import ExitCode, warn
from .output import console, styled

ENDED = frozenset({"COMPLETED", "FAILED", "ABORTED"})
POLL_SECONDS = 0.3


def step_line(step: dict[str, Any]) -> Text:
    """Describe one step execution: `step 1 countDevices: finished SUCCESS`, with its error."""
    line = Text(f"  step {step['id']} {step['stepSnapshot'].get('id')}: {step['state']}")
    if step.get("result"):
        line.append(" ")
        line.append_text(styled(step["result"]))
    error = step.get("error")
    if error:
        line.append(f" {error.get('code')}: {error.get('message')}")
    return line


def wait_for_end(api: Api, execution_id: str, *, quiet: bool = False) -> dict[str, Any]:
    """Poll the execution until it ends or pauses; return it as last read.

    Unless `quiet`, print each step execution whenever its state or result changes.
    """
    url = api.tenant_url("workflowExecution", execution_id)
    seen: dict[str, tuple[str, str | None]] = {}
    try:
        while True:
            execution: dict[str, Any] = api.call("GET", url)
            for step in execution.get("stepExecutions", []):
                state = (step["state"], step.get("result"))
                if seen.get(step["id"]) != state:
                    seen[step["id"]] = state
                    if not quiet:
                        console.print(step_line(step))
            if execution["status"] in ENDED or execution["status"] == "PAUSED":
                return execution
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def exit_code_for(execution: dict[str, Any]) -> ExitCode:
    """Return DONE for a COMPLETED execution and FAILED otherwise; explain a pause on stderr."""
    status = execution["status"]
    if status == "PAUSED":
        warn(
            f"execution {execution['id']} is PAUSED at step {execution.get('currentStepId')}: continue it "
            f"with `stepline executions resume {execution['id']}` or `stepline executions retry "
            f"{execution['id']}`"
        )
    return ExitCode.DONE if status == "COMPLETED" else ExitCode.FAILED
