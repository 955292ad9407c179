"""`stepline executions`: list, read, start, control and delete executions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .client import Api, open_api, page_params
from .errors import fail, warn
from .logs import logs_command
from .output import JsonOption, print_json, print_line, print_table, short_time, styled, text_or_dash
from .start import start_command
from .values import read_json_file, split_pair, typed_values
from .views import print_execution
from .watch import exit_code_for, wait_for_end
from .workflows import AllOption, CursorOption, LimitOption

app = typer.Typer(
    help="Workflow executions: list, read, start, follow logs, control, delete.", no_args_is_help=True
)
app.command("start")(start_command)
app.command("logs")(logs_command)

ExecutionArgument = Annotated[str, typer.Argument(help="Execution id")]
InputsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input", "-i", metavar="NAME=VALUE", help="Change an input value, as name=value; repeatable"
    ),
]
VariablesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--variable", metavar="NAME=VALUE", help="Change a variable value, as name=value; repeatable"
    ),
]
StepsOption = Annotated[
    Path | None,
    typer.Option(help="JSON file with step definitions to replace, as {stepId: step}", dir_okay=False),
]
WaitOption = Annotated[
    bool, typer.Option(help="Print step changes until the execution ends or pauses; exit 1 unless COMPLETED")
]


def _value_changes(api: Api, execution_id: str, inputs: list[str], variables: list[str]) -> dict[str, Any]:
    """Return `assignments` and `variables` for a request, typed by the execution's workflow.

    The types come from the stored workflow, so a design replaced since the execution
    started may type a value differently. The server checks the values against the
    execution's own copy of the design and rejects a mismatch.
    """
    for pair in inputs:
        split_pair(pair, "--input")
    for pair in variables:
        split_pair(pair, "--variable")
    if not inputs and not variables:
        return {}
    execution = api.call("GET", api.tenant_url("workflowExecution", execution_id))
    workflow = api.find(api.tenant_url("workflow", execution["workflow"]["id"])) or {}
    if not workflow:
        warn(f"workflow {execution['workflow']['id']} was deleted: values are sent as text")
    changes: dict[str, Any] = {}
    if inputs:
        changes["assignments"] = typed_values(inputs, workflow.get("inputs") or {}, "--input")
    if variables:
        changes["variables"] = typed_values(variables, workflow.get("variables") or {}, "--variable")
    return changes


def _finish(api: Api, execution: dict[str, Any], message: str, wait: bool, as_json: bool) -> None:
    """Print the outcome of a control operation, and wait for the end when asked."""
    if not wait:
        if as_json:
            print_json(execution)
        else:
            print_line(message)
        return
    if not as_json:
        print_line(message)
    final = wait_for_end(api, execution["id"], quiet=as_json)
    if as_json:
        print_json(final)
    else:
        print_line(f"execution {final['id']} {final['status']}")
    raise typer.Exit(int(exit_code_for(final)))


@app.command("list")
def list_executions(
    ctx: typer.Context,
    workflow: Annotated[str | None, typer.Option(help="Only executions of this workflow id")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option(
            help="Only this status (QUEUED, RUNNING, PAUSED, COMPLETED, FAILED, ABORTED); repeatable"
        ),
    ] = None,
    context_type: Annotated[str | None, typer.Option(help="Only this context type")] = None,
    created_after: Annotated[str | None, typer.Option(help="Only created after this time (RFC 3339)")] = None,
    created_before: Annotated[
        str | None, typer.Option(help="Only created before this time (RFC 3339)")
    ] = None,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    all_pages: AllOption = False,
    as_json: JsonOption = False,
) -> None:
    """List executions, newest first."""
    filters = {
        "workflowId": workflow,
        "status": status or None,
        "contextType": context_type,
        "createdAfter": created_after,
        "createdBefore": created_before,
    }
    params = {key: value for key, value in filters.items() if value is not None}
    with open_api(ctx) as api:
        url = api.tenant_url("workflowExecution")
        if all_pages:
            page: dict[str, Any] = {"items": api.list_all(url, params)}
        else:
            page = api.call("GET", url, params=page_params(params, limit, cursor))
    if as_json:
        print_json(page)
        return
    if not page["items"]:
        warn("no executions found")
        return
    rows = [
        [
            item["id"],
            styled(item.get("status")),
            text_or_dash((item.get("workflow") or {}).get("id")),
            text_or_dash(item.get("currentStepId")),
            short_time(item.get("creationTime")),
            short_time(item.get("endTime")),
        ]
        for item in page["items"]
    ]
    print_table(["ID", "STATUS", "WORKFLOW", "CURRENT STEP", "CREATED", "ENDED"], rows)
    if page.get("nextCursor"):
        warn(f"more executions: add --cursor {page['nextCursor']} for the next page, or --all")


@app.command("get")
def get_execution(
    ctx: typer.Context,
    execution_id: ExecutionArgument,
    wait: WaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Show an execution with its steps. With --wait, exit 0 only when it COMPLETED."""
    with open_api(ctx) as api:
        if wait:
            execution = wait_for_end(api, execution_id, quiet=as_json)
        else:
            execution = api.call("GET", api.tenant_url("workflowExecution", execution_id))
    if as_json:
        print_json(execution)
    else:
        print_execution(execution)
    if wait:
        raise typer.Exit(int(exit_code_for(execution)))


@app.command("abort")
def abort_execution(ctx: typer.Context, execution_id: ExecutionArgument, as_json: JsonOption = False) -> None:
    """Abort an execution; the running step is stopped first."""
    with open_api(ctx) as api:
        execution = api.call("POST", api.tenant_url("workflowExecution", execution_id, "abort"))
    if as_json:
        print_json(execution)
        return
    print_line(f"execution {execution['id']} {execution['status']}")
    if execution["status"] != "ABORTED":
        warn("the running step has not stopped yet; the abort is recorded when it does")


@app.command("resume")
def resume_execution(
    ctx: typer.Context,
    execution_id: ExecutionArgument,
    input: InputsOption = None,
    variable: VariablesOption = None,
    wait: WaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Continue a PAUSED execution (a failed step that paused it is skipped)."""
    with open_api(ctx) as api:
        body = _value_changes(api, execution_id, input or [], variable or [])
        url = api.tenant_url("workflowExecution", execution_id, "resume")
        execution = api.call("POST", url, json=body) if body else api.call("POST", url)
        _finish(api, execution, f"execution {execution['id']} resumed: {execution['status']}", wait, as_json)


@app.command("retry")
def retry_execution(
    ctx: typer.Context,
    execution_id: ExecutionArgument,
    input: InputsOption = None,
    variable: VariablesOption = None,
    steps: StepsOption = None,
    wait: WaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run the failed or aborted step of a PAUSED, FAILED or ABORTED execution again."""
    step_changes = read_json_file(steps, "step definitions") if steps else None
    with open_api(ctx) as api:
        body = _value_changes(api, execution_id, input or [], variable or [])
        if step_changes is not None:
            body["steps"] = step_changes
        url = api.tenant_url("workflowExecution", execution_id, "retry")
        execution = api.call("POST", url, json=body) if body else api.call("POST", url)
        _finish(api, execution, f"execution {execution['id']} retried: {execution['status']}", wait, as_json)


@app.command("patch")
def patch_execution(
    ctx: typer.Context,
    execution_id: ExecutionArgument,
    pause_at_failure: Annotated[
        bool | None, typer.Option("--pause-at-failure/--no-pause-at-failure", help="Pause when a step fails")
    ] = None,
    debug_step: Annotated[
        list[str] | None,
        typer.Option("--debug-step", metavar="STEP", help="Breakpoints: replaces the list; repeatable"),
    ] = None,
    clear_debug_steps: Annotated[bool, typer.Option(help="Remove every breakpoint")] = False,
    retained_til: Annotated[
        str | None, typer.Option(help="Keep the execution until this time (RFC 3339)")
    ] = None,
    start_step: Annotated[
        str | None, typer.Option(help="Restart from this step (PAUSED or FAILED executions)")
    ] = None,
    steps: StepsOption = None,
    input: InputsOption = None,
    variable: VariablesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an execution: flags, breakpoints, retention, step definitions, values, restart step."""
    if debug_step and clear_debug_steps:
        fail("give either --debug-step or --clear-debug-steps, not both")
    body: dict[str, Any] = {}
    if pause_at_failure is not None:
        body["pauseAtFailure"] = pause_at_failure
    if debug_step or clear_debug_steps:
        body["debugStepIds"] = debug_step or []
    if retained_til is not None:
        body["retainedTil"] = retained_til
    if start_step is not None:
        body["startStepId"] = start_step
    if steps is not None:
        body["steps"] = read_json_file(steps, "step definitions")
    if not body and not input and not variable:
        fail("nothing to change: give at least one option (see `stepline executions patch --help`)")
    with open_api(ctx) as api:
        body.update(_value_changes(api, execution_id, input or [], variable or []))
        execution = api.call("PATCH", api.tenant_url("workflowExecution", execution_id), json=body)
    if as_json:
        print_json(execution)
        return
    print_line(f"execution {execution['id']} changed ({', '.join(sorted(body))}): {execution['status']}")


@app.command("delete")
def delete_execution(ctx: typer.Context, execution_id: ExecutionArgument) -> None:
    """Delete an ended execution with its logs and attachments."""
    with open_api(ctx) as api:
        api.call("DELETE", api.tenant_url("workflowExecution", execution_id))
    print_line(f"deleted execution {execution_id}")
