"""`stepline run`: store a design, start it with inputs and files, follow it to the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .client import Api
from .connection import GlobalOptions, resolve
from .output import print_line
from .start import (
    BreakpointOption,
    FileOption,
    InputOption,
    PauseOption,
    StartRequest,
    check_start_request,
    start_execution,
)
from .values import read_json_file
from .watch import exit_code_for, wait_for_end


def run_command(
    ctx: typer.Context,
    design: Annotated[
        Path,
        typer.Argument(help="Workflow design (JSON, schemaVersion 3.0 or 1.0)", exists=True, dir_okay=False),
    ],
    input: InputOption = None,
    file: FileOption = None,
    server: Annotated[str | None, typer.Option(help="Server URL; overrides the global --server")] = None,
    token: Annotated[str | None, typer.Option(help="API token; overrides the global --token")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant id; overrides the global --tenant")] = None,
    follow: Annotated[
        bool, typer.Option(help="Follow the execution until it ends or pauses; exit 1 unless it COMPLETED")
    ] = True,
    pause_at_failure: PauseOption = False,
    debug_step: BreakpointOption = None,
) -> None:
    """Upload DESIGN, start an execution with inputs and files, and print each step's state.

    The design is stored as a new workflow each time. The last lines are the final
    status and outputs as JSON.
    """
    document = read_json_file(design, "design")
    request = StartRequest(input or [], file or [], pause_at_failure, debug_step or [])
    files = check_start_request(request)
    options = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    with Api(resolve(options.overridden(server, token, tenant))) as api:
        workflow = api.call("PUT", api.tenant_url("workflow"), json=document)
        execution = start_execution(api, workflow, request, files)
        print_line(f"execution {execution['id']} {execution['status']}")
        if not follow:
            return
        final = wait_for_end(api, execution["id"])
    print_line(json.dumps({"status": final["status"], "outputs": final.get("outputs", {})}, indent=2))
    raise typer.Exit(int(exit_code_for(final)))
