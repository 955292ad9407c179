"""Streaming a file input to a remote path over SFTP, with memory bounded by one chunk."""

from __future__ import annotations

import asyncssh

from .base import FileInput, StepContext


async def write_content(remote: asyncssh.SFTPClientFile, file: FileInput, ctx: StepContext) -> int:
    """Write the content of `file` to an open remote file and return the bytes written."""
    written = 0
    async for chunk in ctx.files.open(file):
        await remote.write(chunk)
        written += len(chunk)
    return written


async def upload_file(sftp: asyncssh.SFTPClient, file: FileInput, path: str, ctx: StepContext) -> int:
    """Create or overwrite `path` with the content of `file` and return the bytes written.

    Raises asyncssh.SFTPError when the server rejects an operation.
    """
    async with sftp.open(path, "wb") as remote:
        return await write_content(remote, file, ctx)
