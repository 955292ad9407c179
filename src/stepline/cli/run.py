"""`stepline run`: store a design, start it with inputs and files, follow it to the end."""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

EXIT_DONE, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
ENDED = {"COMPLETED", "FAILED", "ABORTED"}
TEXT_TYPES = {"string", "password", "file"}


def _token(token: str | None) -> str:
    if token:
        return token
    default_file = Path(os.environ.get("STEPLINE_DATA_DIR", "./stepline-data")) / "admin-token"
    if default_file.exists():
        return default_file.read_text().strip()
    typer.echo(
        f"no token: pass --token, set STEPLINE_TOKEN, or start the server so {default_file} exists", err=True
    )
    raise typer.Exit(EXIT_USAGE)


def parse_assignments(pairs: list[str], inputs: dict[str, Any]) -> dict[str, Any]:
    """Turn `name=value` pairs into assignments, typed by the design's declared inputs."""
    result: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            typer.echo(f"invalid --input {pair!r}: use name=value", err=True)
            raise typer.Exit(EXIT_USAGE)
        declared = (inputs.get(name) or {}).get("type", "string")
        if declared in TEXT_TYPES:
            result[name] = value
            continue
        try:
            result[name] = json.loads(value)
        except json.JSONDecodeError:
            typer.echo(f"invalid --input {name}: {value!r} is not a valid {declared} (JSON syntax)", err=True)
            raise typer.Exit(EXIT_USAGE) from None
    return result


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        try:
            errors = response.json().get("errors", [])
            detail = "; ".join(f"{e['code']}: {e['message']}" for e in errors)
        except (ValueError, AttributeError):
            detail = response.text[:500]
        typer.echo(f"server answered {response.status_code}: {detail}", err=True)
        raise typer.Exit(EXIT_USAGE if response.status_code < 500 else EXIT_FAILED)
    body: dict[str, Any] = response.json()
    return body


def run_command(
    design: Annotated[
        Path,
        typer.Argument(help="Workflow design (JSON, schemaVersion 3.0 or 1.0)", exists=True, dir_okay=False),
    ],
    input: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="Input value as name=value; repeatable")
    ] = None,
    file: Annotated[
        list[str] | None, typer.Option("--file", "-f", help="File input as name=PATH; repeatable")
    ] = None,
    server: Annotated[
        str, typer.Option(envvar="STEPLINE_SERVER", help="Server URL")
    ] = "http://127.0.0.1:8080",
    token: Annotated[str | None, typer.Option(envvar="STEPLINE_TOKEN", help="API token")] = None,
    tenant: Annotated[str, typer.Option(envvar="STEPLINE_TENANT", help="Tenant id")] = "default",
    follow: Annotated[bool, typer.Option(help="Follow the execution until it ends")] = True,
    pause_at_failure: Annotated[
        bool, typer.Option(help="Pause instead of failing when a step fails")
    ] = False,
) -> None:
    """Upload DESIGN, start an execution with inputs and files, and print each step's state."""
    try:
        document = json.loads(design.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"cannot read design {design}: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    assignments = parse_assignments(input or [], document.get("inputs") or {})
    files: list[tuple[str, Path]] = []
    for pair in file or []:
        name, sep, path = pair.partition("=")
        if not sep or not Path(path).is_file():
            typer.echo(f"invalid --file {pair!r}: use name=PATH with an existing file", err=True)
            raise typer.Exit(EXIT_USAGE)
        assignments[name] = Path(path).name
        files.append((name, Path(path)))
    base = f"{server.rstrip('/')}/tca/workflows/api/v1/orgs/{tenant}"
    headers = {"Authorization": f"Bearer {_token(token)}"}
    try:
        with httpx.Client(headers=headers, timeout=httpx.Timeout(30.0, read=None)) as client:
            workflow = _check(client.put(f"{base}/workflow", json=document))
            request = {
                "workflowId": workflow["id"],
                "contextType": "NONE",
                "assignments": assignments,
                "pauseAtFailure": pause_at_failure,
            }
            with ExitStack() as stack:
                parts: list[tuple[str, Any]] = [
                    ("workflowExecution", (None, json.dumps(request), "application/json"))
                ]
                for _, file_path in files:
                    handle = stack.enter_context(file_path.open("rb"))
                    parts.append(("files", (file_path.name, handle, "application/octet-stream")))
                execution = _check(client.post(f"{base}/workflowExecution", files=parts))
            typer.echo(f"execution {execution['id']} {execution['status']}")
            if not follow:
                raise typer.Exit(EXIT_DONE)
            final = _follow(client, f"{base}/workflowExecution/{execution['id']}")
    except httpx.TransportError as exc:
        typer.echo(f"server {server} unreachable: {exc}", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from exc
    typer.echo(json.dumps({"status": final["status"], "outputs": final.get("outputs", {})}, indent=2))
    raise typer.Exit(EXIT_DONE if final["status"] == "COMPLETED" else EXIT_FAILED)


def _follow(client: httpx.Client, url: str) -> dict[str, Any]:
    seen: dict[str, tuple[str, str | None]] = {}
    while True:
        execution = _check(client.get(url))
        for step in execution["stepExecutions"]:
            state = (step["state"], step.get("result"))
            if seen.get(step["id"]) != state:
                seen[step["id"]] = state
                error = step.get("error") or {}
                suffix = f" {error.get('code')}: {error.get('message')}" if error else ""
                result = f" {step['result']}" if step.get("result") else ""
                typer.echo(
                    f"  step {step['id']} {step['stepSnapshot'].get('id')}: {step['state']}{result}{suffix}"
                )
        if execution["status"] in ENDED or execution["status"] == "PAUSED":
            sys.stdout.flush()
            return execution
        time.sleep(0.3)
