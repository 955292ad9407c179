"""Exit codes of the client commands, and the one way a command stops with an error."""

from __future__ import annotations

from enum import IntEnum
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape


class ExitCode(IntEnum):
    """Exit codes that scripts can rely on.

    DONE: the command did its work, and a followed execution COMPLETED.
    FAILED: a followed execution ended FAILED or ABORTED or stopped PAUSED, or the
    server responded with a 5xx error other than 502, 503 and 504.
    USAGE: invalid options or arguments, an invalid design, or a 4xx response.
    UNREACHABLE: the connection was refused, timed out or broke, or a 502, 503 or
    504 response reported that the service is unavailable.
    INTERRUPTED: stopped with Ctrl-C (128 + SIGINT, as shells report it).
    """

    DONE = 0
    FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    INTERRUPTED = 130


error_console = Console(stderr=True, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """Print a message to standard error, as plain text."""
    error_console.print(escape(message))


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print `error: message` to standard error and exit with `code`."""
    error_console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(int(code))
