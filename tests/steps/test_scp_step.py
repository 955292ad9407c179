"""SCP step against a real OpenSSH sshd on loopback. The remote paths are on this machine."""

from __future__ import annotations

import asyncio
import os
import tracemalloc

import pytest

from stepline.steps.base import StepFailure
from stepline.steps.scp import ScpRunner
from tests.steps.ssh_helpers import key_inputs, password_inputs


async def test_scp_copies_bytes_exactly(sshd, context, files, step_log, tmp_path):
    content = os.urandom(3 * 1024**2 + 123)
    source = files.add("payload.bin", content)
    destination = tmp_path / "payload.bin"

    outputs = await ScpRunner().run(key_inputs(sshd, source=source, destination=str(destination)), context)

    assert destination.read_bytes() == content
    assert outputs == {"bytes": len(content), "destination": str(destination)}
    assert f"copied {len(content)} bytes to 127.0.0.1:{destination}" in step_log.messages()


async def test_scp_overwrites_existing_file(sshd, context, files, tmp_path):
    destination = tmp_path / "config.txt"
    destination.write_bytes(b"old content that is longer than the new one")
    source = files.add("config.txt", b"new")

    await ScpRunner().run(key_inputs(sshd, source=source, destination=str(destination)), context)

    assert destination.read_bytes() == b"new"


async def test_scp_empty_file(sshd, context, files, tmp_path):
    destination = tmp_path / "empty"
    source = files.add("empty", b"")

    outputs = await ScpRunner().run(key_inputs(sshd, source=source, destination=str(destination)), context)

    assert destination.read_bytes() == b""
    assert outputs["bytes"] == 0


@pytest.mark.parametrize("suffix", ["/", ""])
async def test_scp_into_directory_keeps_file_name(sshd, context, files, tmp_path, suffix):
    source = files.add("reports/summary.csv", b"a,b\n1,2\n")

    outputs = await ScpRunner().run(
        key_inputs(sshd, source=source, destination=f"{tmp_path}{suffix}"), context
    )

    assert outputs["destination"] == f"{tmp_path}/summary.csv"
    assert (tmp_path / "summary.csv").read_bytes() == b"a,b\n1,2\n"


async def test_scp_into_directory_rejects_dot_names(sshd, context, files, tmp_path):
    source = files.add("..", b"x")

    with pytest.raises(StepFailure) as failure:
        await ScpRunner().run(key_inputs(sshd, source=source, destination=f"{tmp_path}/"), context)

    assert failure.value.code == "INPUT_INVALID"
    assert "'..'" in failure.value.message


async def test_scp_missing_directory_fails(sshd, context, files, tmp_path):
    source = files.add("a.txt", b"x")
    destination = tmp_path / "missing" / "a.txt"

    with pytest.raises(StepFailure) as failure:
        await ScpRunner().run(key_inputs(sshd, source=source, destination=str(destination)), context)

    assert failure.value.code == "SCP_FAILED"
    assert str(destination) in failure.value.message
    assert "a.txt" in failure.value.message


async def test_scp_without_sftp_fails(password_server, context, files):
    source = files.add("a.txt", b"x")

    with pytest.raises(StepFailure) as failure:
        await ScpRunner().run(
            password_inputs(password_server, source=source, destination="/tmp/a.txt"), context
        )

    assert failure.value.code == "SCP_FAILED"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"source": None}, "'source'"),
        ({"source": "a.txt"}, "'source'"),
        ({"destination": ""}, "'destination'"),
    ],
)
async def test_scp_invalid_input_is_rejected(sshd, context, files, change, named):
    inputs = {**key_inputs(sshd, source=files.add("a.txt", b"x"), destination="/tmp/x"), **change}

    with pytest.raises(StepFailure) as failure:
        await ScpRunner().run(inputs, context)

    assert failure.value.code == "INPUT_INVALID"
    assert named in failure.value.message


async def test_scp_memory_stays_bounded(sshd, context, files, tmp_path):
    size = 32 * 1024**2
    source = files.add("big.bin", os.urandom(size))
    destination = tmp_path / "big.bin"

    tracemalloc.start()
    try:
        await ScpRunner().run(key_inputs(sshd, source=source, destination=str(destination)), context)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert destination.stat().st_size == size
    assert peak < size // 4, f"peak traced memory {peak} bytes for a {size} byte copy"


async def test_scp_cancel_closes_connection(sshd, context, files, tmp_path):
    files.chunk_size = 1024
    source = files.add("slow.bin", os.urandom(64 * 1024**2))
    inputs = key_inputs(sshd, source=source, destination=str(tmp_path / "slow.bin"))
    task = asyncio.create_task(ScpRunner().run(inputs, context))
    await asyncio.sleep(0.3)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert (tmp_path / "slow.bin").stat().st_size < 64 * 1024**2
