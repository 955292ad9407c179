"""`stepline workflows`: list, read, store, replace, delete, validate and convert designs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from .client import open_api, page_params
from .errors import ExitCode, fail, warn
from .output import JsonOption, print_json, print_line, print_table, short_time, text_or_dash
from .uploads import check_files, file_parts
from .values import read_json_file
from .views import print_workflow

app = typer.Typer(
    help="Workflow designs: list, read, create, update, delete, validate, convert.", no_args_is_help=True
)

DesignArgument = Annotated[Path, typer.Argument(help="Workflow design (JSON file)", dir_okay=False)]
LimitOption = Annotated[int, typer.Option(help="Maximum number of items on the page")]
CursorOption = Annotated[str | None, typer.Option(help="Start after this cursor (nextCursor of a page)")]
AllOption = Annotated[bool, typer.Option("--all", help="Follow the cursors and list every item")]


def _read_design(path: Path) -> Any:
    return read_json_file(path, "design")


def _list_rows(items: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            item["id"],
            text_or_dash(item.get("name")),
            text_or_dash(item.get("version")),
            ", ".join(tag.get("name", "") for tag in item.get("tags") or []) or "-",
            (item.get("owner") or {}).get("type", "-"),
            short_time(item.get("updatedAt") or item.get("createdAt")),
        ]
        for item in items
    ]


@app.command("list")
def list_workflows(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Only workflows with this name")] = None,
    tag: Annotated[str | None, typer.Option(help="Only workflows with this tag")] = None,
    owner_type: Annotated[str | None, typer.Option(help="Only this owner type: USER, VNF, CNF or NS")] = None,
    limit: LimitOption = 50,
    cursor: CursorOption = None,
    all_pages: AllOption = False,
    as_json: JsonOption = False,
) -> None:
    """List workflows, newest first."""
    filters = {"name": name, "tag": tag, "ownerType": owner_type}
    params = {key: value for key, value in filters.items() if value is not None}
    with open_api(ctx) as api:
        url = api.tenant_url("workflow")
        if all_pages:
            page: dict[str, Any] = {"items": api.list_all(url, params)}
        else:
            page = api.call("GET", url, params=page_params(params, limit, cursor))
    if as_json:
        print_json(page)
        return
    if not page["items"]:
        warn("no workflows found")
        return
    print_table(["ID", "NAME", "VERSION", "TAGS", "OWNER", "UPDATED"], _list_rows(page["items"]))
    if page.get("nextCursor"):
        warn(f"more workflows: add --cursor {page['nextCursor']} for the next page, or --all")


@app.command("get")
def get_workflow(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(help="Workflow id")],
    as_json: JsonOption = False,
) -> None:
    """Show a workflow: its fields, inputs, outputs and steps."""
    with open_api(ctx) as api:
        workflow = api.call("GET", api.tenant_url("workflow", workflow_id))
    if as_json:
        print_json(workflow)
        return
    print_workflow(workflow)


@app.command("create")
def create_workflow(
    ctx: typer.Context,
    design: DesignArgument,
    file: Annotated[
        list[Path] | None,
        typer.Option(
            "--file", "-f", metavar="PATH", help="File to attach to the workflow; repeatable", dir_okay=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Store a new workflow from DESIGN (schemaVersion 3.0, or 1.0 which the server converts)."""
    document = _read_design(design)
    files = file or []
    check_files(files, "--file")
    with open_api(ctx) as api:
        url = api.tenant_url("workflow")
        if files:
            with file_parts(files) as parts:
                workflow_part = ("workflow", (None, json.dumps(document), "application/json"))
                workflow = api.call("POST", url, files=[workflow_part, *parts])
        else:
            workflow = api.call("PUT", url, json=document)
    if as_json:
        print_json(workflow)
        return
    print_line(f"created workflow {workflow['id']} ({workflow.get('name')} {workflow.get('version')})")


@app.command("update")
def update_workflow(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(help="Workflow id")],
    design: DesignArgument,
    as_json: JsonOption = False,
) -> None:
    """Replace the design of a workflow with DESIGN; its attachments stay."""
    document = _read_design(design)
    with open_api(ctx) as api:
        workflow = api.call("POST", api.tenant_url("workflow", workflow_id), json=document)
    if as_json:
        print_json(workflow)
        return
    print_line(f"updated workflow {workflow['id']} ({workflow.get('name')} {workflow.get('version')})")


@app.command("delete")
def delete_workflow(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(help="Workflow id")],
) -> None:
    """Delete a workflow; its executions keep their copy of the design and still work."""
    with open_api(ctx) as api:
        api.call("DELETE", api.tenant_url("workflow", workflow_id))
    print_line(f"deleted workflow {workflow_id}")


def _problems_json(problems: list[Any]) -> list[dict[str, str]]:
    return [
        {"code": p.code, "pointer": p.pointer, "message": f"{p.pointer or '/'}: {p.message}"}
        for p in problems
    ]


def _report_problems(path: Path, problems: list[Any], as_json: bool) -> NoReturn:
    if as_json:
        print_json({"valid": False, "errors": _problems_json(problems)})
    else:
        for problem in problems:
            print_line(f"{problem.pointer or '/'}: {problem.message}")
    fail(f"{path} is not a valid design: {len(problems)} problem(s)", ExitCode.USAGE)


@app.command("validate")
def validate_workflow(design: DesignArgument, as_json: JsonOption = False) -> None:
    """Check DESIGN with the server's rules, without a server. Exit code 2 when it is invalid.

    Each problem is printed with the JSON pointer of the field it concerns.
    """
    from stepline.design import DesignError, parse_design

    document = _read_design(design)
    try:
        workflow = parse_design(document)
    except DesignError as exc:
        _report_problems(design, exc.problems, as_json)
    if as_json:
        print_json({"valid": True, "errors": []})
        return
    converted = " (schemaVersion 1.0, converted to 3.0)" if document.get("schemaVersion") == "1.0" else ""
    print_line(
        f"{design} is valid: {workflow.name} {workflow.version}, {len(workflow.steps)} steps{converted}"
    )


@app.command("convert")
def convert_workflow(
    design: DesignArgument,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the result to this file instead of stdout")
    ] = None,
) -> None:
    """Print the schemaVersion 3.0 form of a 1.0 DESIGN.

    The result is checked with the same rules as `validate`. When it breaks one, the
    problems are printed and the exit code is 2, but the converted design is still
    written, so that it can be fixed by hand.
    """
    from stepline.design import DesignError, convert_v1, parse_design

    document = _read_design(design)
    if not isinstance(document, dict) or document.get("schemaVersion") != "1.0":
        version = document.get("schemaVersion") if isinstance(document, dict) else None
        fail(f'{design} has schemaVersion {version!r}; only schemaVersion "1.0" designs are converted')
    try:
        converted = convert_v1(document)
    except DesignError as exc:
        _report_problems(design, exc.problems, as_json=False)
    text = json.dumps(converted, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror}")
    try:
        parse_design(converted)
    except DesignError as exc:
        for problem in exc.problems:
            warn(f"{problem.pointer or '/'}: {problem.message}")
        fail(f"the converted design breaks {len(exc.problems)} rule(s); fix them before storing it")
