"""The TCA_SCP and VRO_SCP steps: copy a file input to a remote path over SFTP.

`destination` is the remote file path. When it ends with "/" or names an existing
directory, the file keeps its attachment name inside that directory, as `scp` does.
An existing file is overwritten. When the copy fails midway, the remote file may be
left incomplete.
"""

from __future__ import annotations

import posixpath
from typing import Any

import asyncssh

from .base import FileInput, StepContext, StepFailure
from .sftp_upload import upload_file
from .ssh_connect import invalid_input, open_connection, parse_target


def _source_input(inputs: dict[str, Any]) -> FileInput:
    source = inputs.get("source")
    if not isinstance(source, FileInput):
        raise invalid_input("input 'source' must name a file attached to the execution")
    return source


def _destination_input(inputs: dict[str, Any]) -> str:
    destination = inputs.get("destination")
    if not isinstance(destination, str) or not destination.strip():
        raise invalid_input("input 'destination' is missing or empty. Set a remote file path")
    return destination.strip()


async def resolve_destination(sftp: asyncssh.SFTPClient, destination: str, file_name: str) -> str:
    """Return the remote file path, adding the file name when `destination` is a directory."""
    if not destination.endswith("/") and not await sftp.isdir(destination):
        return destination
    base_name = posixpath.basename(file_name.replace("\\", "/"))
    if base_name in ("", ".", ".."):
        raise invalid_input(
            f"input 'destination' ({destination}) is a directory and the file name "
            f"'{file_name}' cannot be used inside it. Set a full file path"
        )
    return posixpath.join(destination, base_name)


class ScpRunner:
    """Runs TCA_SCP and VRO_SCP steps."""

    async def run(self, inputs: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
        source = _source_input(inputs)
        destination = _destination_input(inputs)
        target = await parse_target(inputs, ctx)
        async with open_connection(target, ctx) as connection:
            try:
                async with connection.start_sftp_client() as sftp:
                    path = await resolve_destination(sftp, destination, source.name)
                    size = await upload_file(sftp, source, path, ctx)
            except (asyncssh.SFTPError, asyncssh.ChannelOpenError) as exc:
                raise StepFailure(
                    "SCP_FAILED",
                    f"copying '{source.name}' to {target.address}:{destination} failed: {exc.reason}",
                ) from exc
            except asyncssh.Error as exc:
                raise StepFailure(
                    "SSH_CONNECT_FAILED",
                    f"the SSH connection to {target.address} failed during the copy: {exc.reason}",
                ) from exc

        ctx.log.info(f"copied {size} bytes to {target.host}:{path}")
        return {"bytes": size, "destination": path}
