"""Standard output of the client commands: raw JSON or rich tables."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

# `--json` on every read command; commands declare it with this type.
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the server's JSON response instead of a table")
]

STATUS_STYLES = {
    "QUEUED": "dim",
    "RUNNING": "cyan",
    "PAUSED": "yellow",
    "COMPLETED": "green",
    "FAILED": "red",
    "ABORTED": "magenta",
    "SUCCESS": "green",
    "FAILURE": "red",
    "SKIPPED": "dim",
}
LEVEL_STYLES = {"DEBUG": "dim", "INFO": "", "WARN": "yellow", "ERROR": "red"}


def _stdout_console() -> Console:
    console = Console(highlight=False, soft_wrap=False, emoji=False)
    # Piped output goes to grep and similar tools, so rows stay on one line unless COLUMNS sets a width.
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 1000
    return console


console = _stdout_console()


def print_json(data: Any) -> None:
    """Write data as indented JSON to standard output, bypassing rich."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def styled(value: str | None, styles: dict[str, str] = STATUS_STYLES) -> Text:
    """Return a status or result word coloured by its meaning (the word itself stays)."""
    if value is None:
        return Text("-", style="dim")
    return Text(value, style=styles.get(value, ""))


def short_time(value: str | None) -> str:
    """Format an RFC 3339 time of the API as `2026-12-04 19:20:32` (UTC)."""
    if not value:
        return "-"
    return value.replace("T", " ")[:19]


def text_or_dash(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cell(value: str | Text) -> Text:
    # A plain string becomes Text, so brackets in names and messages are never read as markup.
    return value if isinstance(value, Text) else Text(value)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[str | Text]], title: str | None = None
) -> None:
    """Print rows as a table; the first column (usually an id) never wraps."""
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False, show_edge=False)
    for index, column in enumerate(columns):
        table.add_column(column, no_wrap=index == 0, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    console.print(table)


def print_fields(fields: Sequence[tuple[str, str | Text]]) -> None:
    """Print name-value pairs, one per line, names aligned."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in fields:
        table.add_row(name, _cell(value))
    console.print(table)


def print_line(message: str) -> None:
    """Print one plain line to standard output (no rich markup is interpreted)."""
    console.print(message, markup=False)
