"""Starting an execution with input values and files, shared by `executions start` and `run`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from .client import Api, open_api
from .output import JsonOption, print_json, print_line
from .uploads import file_parts
from .values import file_inputs, json_values, split_pair, typed_values
from .watch import exit_code_for, wait_for_end

InputOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        "-i",
        metavar="NAME=VALUE",
        help="Input value as name=value; repeatable. Inputs that are not string, password or file "
        "take JSON, e.g. count=3 or hosts='[\"a\"]'",
    ),
]
FileOption = Annotated[
    list[str] | None,
    typer.Option(
        "--file",
        "-f",
        metavar="NAME=PATH",
        help="File input as name=PATH: uploads PATH and assigns its file name; repeatable",
    ),
]
PauseOption = Annotated[bool, typer.Option(help="Pause instead of failing when a step fails")]
BreakpointOption = Annotated[
    list[str] | None,
    typer.Option("--debug-step", metavar="STEP", help="Pause before this step (a breakpoint); repeatable"),
]


@dataclass
class StartRequest:
    """The options of a start request, before the input values are typed by the design."""

    inputs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    pause_at_failure: bool = False
    debug_step_ids: list[str] = field(default_factory=list)
    context_type: str = "NONE"
    context: list[str] = field(default_factory=list)
    retained_til: str | None = None
    idempotency_key: str | None = None


def check_start_request(request: StartRequest) -> list[tuple[str, Path]]:
    """Exit with the usage code on malformed pairs or missing files; return the file inputs."""
    for pair in request.inputs:
        split_pair(pair, "--input")
    json_values(request.context, "--context")
    return file_inputs(request.files)


def start_execution(
    api: Api, workflow: dict[str, Any], request: StartRequest, files: list[tuple[str, Path]]
) -> dict[str, Any]:
    """Create an execution of `workflow` through the multipart operation; return the execution.

    `files` are the file inputs that `check_start_request` returned for `request`.
    """
    assignments = typed_values(request.inputs, workflow.get("inputs") or {}, "--input")
    for name, path in files:
        assignments[name] = path.name
    body: dict[str, Any] = {
        "workflowId": workflow["id"],
        "contextType": request.context_type,
        "context": json_values(request.context, "--context"),
        "assignments": assignments,
        "pauseAtFailure": request.pause_at_failure,
        "debugStepIds": request.debug_step_ids,
    }
    if request.retained_til is not None:
        body["retainedTil"] = request.retained_til
    headers = {"Idempotency-Key": request.idempotency_key} if request.idempotency_key else {}
    with file_parts([path for _, path in files]) as parts:
        request_part = ("workflowExecution", (None, json.dumps(body), "application/json"))
        execution: dict[str, Any] = api.call(
            "POST", api.tenant_url("workflowExecution"), files=[request_part, *parts], headers=headers
        )
    return execution


def start_command(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(help="Id of the workflow to run")],
    input: InputOption = None,
    file: FileOption = None,
    pause_at_failure: PauseOption = False,
    debug_step: BreakpointOption = None,
    context_type: Annotated[str, typer.Option(help="Context type: NONE, VNF, CNF or NS")] = "NONE",
    context: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME=VALUE", help="Context value as name=value (JSON or text), e.g. vnfId=..."),
    ] = None,
    retained_til: Annotated[
        str | None, typer.Option(help="Keep the execution until this time (RFC 3339)")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="Repeating a start with the same key returns the first execution")
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(help="Print step changes until the execution ends or pauses; exit 1 unless COMPLETED"),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Start an execution of a stored workflow and print its id."""
    request = StartRequest(
        input or [],
        file or [],
        pause_at_failure,
        debug_step or [],
        context_type,
        context or [],
        retained_til,
        idempotency_key,
    )
    files = check_start_request(request)
    with open_api(ctx) as api:
        workflow = api.call("GET", api.tenant_url("workflow", workflow_id))
        execution = start_execution(api, workflow, request, files)
        if not as_json:
            print_line(f"execution {execution['id']} {execution['status']}")
        if not wait:
            if as_json:
                print_json(execution)
            return
        final = wait_for_end(api, execution["id"], quiet=as_json)
    if as_json:
        print_json(final)
    else:
        print_line(f"execution {final['id']} {final['status']}")
    raise typer.Exit(int(exit_code_for(final)))
