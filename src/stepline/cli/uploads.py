"""File parts of multipart requests, streamed from disk with a progress bar for large uploads."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from .errors import error_console, fail

# Uploads smaller than this finish too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 1024 * 1024


class ProgressFile:
    """A binary file that advances a progress task as httpx reads it.

    httpx streams a multipart file part in 64 KiB `read` calls and takes its length from
    `fileno`, so the request carries a Content-Length and the file never sits in memory.
    """

    def __init__(self, handle: BinaryIO, progress: Progress | None, task: TaskID | None) -> None:
        self._handle = handle
        self._progress = progress
        self._task = task

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        position = self._handle.seek(offset, whence)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=position)
        return position

    def tell(self) -> int:
        return self._handle.tell()

    def fileno(self) -> int:
        return self._handle.fileno()


def check_files(paths: list[Path], option: str) -> None:
    """Exit with the usage code unless every path is a readable regular file."""
    for path in paths:
        if not path.is_file():
            fail(f"invalid {option} {str(path)!r}: no such file")
        if not os.access(path, os.R_OK):
            fail(f"invalid {option} {str(path)!r}: the file is not readable")


@contextmanager
def file_parts(paths: list[Path], part_name: str = "files") -> Iterator[list[tuple[str, Any]]]:
    """Open the files and yield them as httpx multipart parts, named by their file names.

    When they add up to PROGRESS_MIN_BYTES or more, a progress bar per file runs on
    standard error until the context ends.
    """
    total = sum(path.stat().st_size for path in paths)
    with ExitStack() as stack:
        progress: Progress | None = None
        if total >= PROGRESS_MIN_BYTES:
            progress = Progress(
                TextColumn("uploading {task.description}", markup=False),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=error_console,
            )
            stack.enter_context(progress)
        parts: list[tuple[str, Any]] = []
        for path in paths:
            handle = stack.enter_context(path.open("rb"))
            task = progress.add_task(path.name, total=path.stat().st_size) if progress else None
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            parts.append((part_name, (path.name, ProgressFile(handle, progress, task), content_type)))
        yield parts
