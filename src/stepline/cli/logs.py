"""`stepline executions logs`: print the log of an execution, or follow it to the end."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import typer
from rich.text import Text

from .client import CONNECT_SECONDS, Api, open_api, transport_errors
from .errors import ExitCode, fail, warn
from .output import LEVEL_STYLES, console

# Reconnections in a row, without a new entry in between, before `logs -f` gives up.
MAX_RECONNECTS = 5
RECONNECT_SECONDS = 1.0


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None


def parse_events(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Parse a text/event-stream into events (fields `event`, `data`, `id`; comments skipped)."""
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield ServerSentEvent(event, "\n".join(data), event_id)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


def log_line(entry: dict[str, Any]) -> Text:
    """Format an entry like the server's text format: `TIME LEVEL [step N] message`."""
    level = str(entry.get("level", ""))
    where = f"step {entry['stepExecutionId']}" if entry.get("stepExecutionId") is not None else "execution"
    line = Text(f"{entry.get('time')} ")
    line.append(f"{level:<5}", style=LEVEL_STYLES.get(level, ""))
    line.append(f" [{where}] {entry.get('msg')}")
    return line


def _print_entry(entry: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        console.print(log_line(entry))


def _print_all(api: Api, url: str, params: dict[str, str], as_json: bool) -> None:
    with api.stream("GET", url, params=params) as response, transport_errors(api.connection.server):
        for line in response.iter_lines():
            if line.strip():
                _print_entry(json.loads(line), as_json)


def _follow(api: Api, url: str, params: dict[str, str], as_json: bool) -> str | None:
    """Print entries from the event stream until its `end` event; return the final status.

    When the connection drops before the end, the stream is opened again. The server
    sends the log from its start again, so entries with an id already printed are skipped.
    """
    last_id = 0
    reconnects = 0
    timeout = httpx.Timeout(CONNECT_SECONDS, read=None)
    while True:
        try:
            with api.stream("GET", url, params={**params, "follow": "true"}, timeout=timeout) as response:
                for event in parse_events(response.iter_lines()):
                    if event.event == "end":
                        status: str | None = json.loads(event.data).get("status")
                        return status
                    if event.event != "log":
                        continue
                    event_id = int(event.id) if event.id and event.id.isdigit() else None
                    if event_id is not None and event_id <= last_id:
                        continue
                    _print_entry(json.loads(event.data), as_json)
                    last_id = event_id if event_id is not None else last_id
                    reconnects = 0
        except httpx.TransportError as exc:
            warn(f"log stream interrupted: {exc or type(exc).__name__}")
        reconnects += 1
        if reconnects > MAX_RECONNECTS:
            fail(
                f"the log stream of {url} ended {MAX_RECONNECTS + 1} times without its end event",
                ExitCode.UNREACHABLE,
            )
        time.sleep(RECONNECT_SECONDS)


def logs_command(
    ctx: typer.Context,
    execution_id: Annotated[str, typer.Argument(help="Execution id")],
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep printing new entries until the execution ends; exit 0 if it COMPLETED, 1 otherwise",
        ),
    ] = False,
    step: Annotated[
        str | None, typer.Option(help="Only the entries of this step execution id (0, 1, ...)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each entry as a JSON line (NDJSON)")] = False,
) -> None:
    """Print every log entry of an execution, oldest first."""
    params = {"stepExecutionId": step} if step is not None else {}
    with open_api(ctx) as api:
        url = api.tenant_url("workflowExecution", execution_id, "logs")
        if not follow:
            _print_all(api, url, params, as_json)
            return
        try:
            status = _follow(api, url, params, as_json)
        except KeyboardInterrupt:
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    if status is None:
        fail(f"execution {execution_id} was deleted while its log was followed", ExitCode.FAILED)
    if not as_json:
        warn(f"execution {execution_id} {status}")
    raise typer.Exit(int(ExitCode.DONE if status == "COMPLETED" else ExitCode.FAILED))
