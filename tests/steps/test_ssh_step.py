"""SSH step against a real OpenSSH sshd and an in-process password server, both on loopback."""

from __future__ import annotations

import asyncio
import secrets
import socket
from pathlib import Path

import asyncssh
import pytest

from stepline.steps import ssh_connect
from stepline.steps.base import StepFailure
from stepline.steps.ssh import MAX_LOG_LINE_BYTES, SshRunner, StreamCapture, needs_pty
from tests.steps.ssh_helpers import key_body, key_inputs, other_public_key, password_inputs


async def remote_processes(pattern: str) -> list[str]:
    """Return the command lines of local processes that match `pattern` (sshd runs here)."""
    pgrep = await asyncio.create_subprocess_exec("pgrep", "-af", pattern, stdout=asyncio.subprocess.PIPE)
    output, _ = await pgrep.communicate()
    return output.decode().splitlines()


async def wait_for_log(step_log, message: str) -> None:
    for _ in range(500):
        if message in step_log.messages():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"log line {message!r} did not arrive within 5 s: {step_log.entries}")


async def test_ssh_key_auth_runs_command(sshd, context, step_log):
    outputs = await SshRunner().run(key_inputs(sshd, script="echo hello; id -un"), context)

    assert outputs["output"] == f"hello\n{sshd.username}\n"
    assert outputs["exitCode"] == 0
    assert ("INFO", "hello") in step_log.entries
    assert ("INFO", f"connected to 127.0.0.1:{sshd.port} as {sshd.username}") in step_log.entries


async def test_ssh_stderr_follows_pty_rule(sshd, context):
    outputs = await SshRunner().run(key_inputs(sshd, script="echo out; echo err >&2"), context)

    if needs_pty(sshd.username):
        assert outputs["output"] == "out\nerr\n"
        assert outputs["stderr"] == ""
    else:
        assert outputs["output"] == "out\n"
        assert outputs["stderr"] == "err\n"


async def test_ssh_private_key_from_file_input(sshd, context, files):
    key_file = files.add("id_ed25519", sshd.private_key.encode())

    outputs = await SshRunner().run(key_inputs(sshd, privateKey=key_file, script="true"), context)

    assert outputs["exitCode"] == 0


async def test_ssh_password_auth(password_server, context):
    outputs = await SshRunner().run(password_inputs(password_server, script="echo hi"), context)

    assert outputs == {"output": "ran: echo hi\n", "stderr": "", "exitCode": 0}


async def test_ssh_wrong_password_fails_auth(password_server, context, step_log):
    wrong = "wrong-" + secrets.token_hex(8)

    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(password_inputs(password_server, password=wrong, script="x"), context)

    assert failure.value.code == "SSH_AUTH_FAILED"
    assert password_server.username in failure.value.message
    assert wrong not in failure.value.message
    assert wrong not in step_log.text()


async def test_ssh_wrong_private_key_fails_auth(sshd, context, step_log):
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()

    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(key_inputs(sshd, privateKey=stranger, script="true"), context)

    assert failure.value.code == "SSH_AUTH_FAILED"
    assert "PRIVATE KEY" not in failure.value.message
    assert "PRIVATE KEY" not in step_log.text()


async def test_ssh_encrypted_key_without_passphrase_is_rejected(sshd, context):
    key = asyncssh.generate_private_key("ssh-ed25519")
    encrypted = key.export_private_key(passphrase="open sesame").decode()

    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(key_inputs(sshd, privateKey=encrypted, script="true"), context)

    assert failure.value.code == "INPUT_INVALID"
    assert "passphrase" in failure.value.message


async def test_ssh_encrypted_key_with_passphrase_is_used(sshd, context):
    key = asyncssh.generate_private_key("ssh-ed25519")
    encrypted = key.export_private_key(passphrase="open sesame").decode()
    inputs = key_inputs(sshd, privateKey=encrypted, passphrase="open sesame", script="true")

    # The key is loaded, but sshd does not authorize it.
    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(inputs, context)

    assert failure.value.code == "SSH_AUTH_FAILED"


async def test_ssh_wrong_pinned_key_is_mismatch(sshd, context):
    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(key_inputs(sshd, hostKey=other_public_key(), script="true"), context)

    assert failure.value.code == "HOST_KEY_MISMATCH"
    assert key_body(sshd.host_key) in failure.value.message


async def test_ssh_pin_checked_when_not_strict(sshd, context):
    inputs = key_inputs(sshd, hostKey=other_public_key(), strictHostKeyChecking=False, script="true")

    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(inputs, context)

    assert failure.value.code == "HOST_KEY_MISMATCH"


async def test_ssh_without_pin_names_offered_key(sshd, context, step_log):
    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(key_inputs(sshd, hostKey=None, script="true"), context)

    assert failure.value.code == "HOST_KEY_UNKNOWN"
    assert key_body(sshd.host_key) in failure.value.message
    assert "hostKey" in failure.value.message
    assert not any(message.startswith("connected") for message in step_log.messages())


@pytest.mark.parametrize("strict", [False, "false", "no"])
async def test_ssh_not_strict_accepts_unknown_key(sshd, context, strict):
    inputs = key_inputs(sshd, hostKey=None, strictHostKeyChecking=strict, script="true")

    outputs = await SshRunner().run(inputs, context)

    assert outputs["exitCode"] == 0


async def test_ssh_known_hosts_line_as_pin(sshd, context):
    pin = f"[127.0.0.1]:{sshd.port} {sshd.host_key}\n{other_public_key()}"

    outputs = await SshRunner().run(key_inputs(sshd, hostKey=pin, script="true"), context)

    assert outputs["exitCode"] == 0


async def test_ssh_exit_code_nonzero_keeps_outputs(sshd, context):
    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(key_inputs(sshd, script="echo partial; exit 3"), context)

    assert failure.value.code == "EXIT_CODE_NONZERO"
    assert "code 3" in failure.value.message
    assert failure.value.outputs["exitCode"] == 3
    assert failure.value.outputs["output"] == "partial\n"


async def test_ssh_command_killed_by_signal(sshd, context):
    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(key_inputs(sshd, script="echo before; kill -TERM $$"), context)

    assert failure.value.code == "EXIT_CODE_NONZERO"
    assert "signal TERM" in failure.value.message
    assert failure.value.outputs["exitCode"] == -15
    assert failure.value.outputs["output"] == "before\n"


async def test_ssh_stderr_separate_without_pty(password_server, context, step_log):
    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(password_inputs(password_server, script="fail"), context)

    assert failure.value.code == "EXIT_CODE_NONZERO"
    assert failure.value.outputs == {"output": "out\n", "stderr": "err\n", "exitCode": 3}
    assert ("INFO", "out") in step_log.entries
    assert ("WARN", "err") in step_log.entries


async def test_ssh_script_file_runs_and_is_deleted(sshd, context, files):
    script = files.add("deploy.sh", b'echo "from file"\necho "$0"\n')

    outputs = await SshRunner().run(key_inputs(sshd, script=script), context)

    first_line, remote_path = outputs["output"].splitlines()
    assert first_line == "from file"
    assert remote_path.startswith("/tmp/stepline-")
    assert not Path(remote_path).exists()


async def test_ssh_script_file_deleted_after_failure(sshd, context, files):
    script = files.add("broken.sh", b'echo "$0"\nexit 7\n')

    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(key_inputs(sshd, script=script), context)

    assert failure.value.outputs["exitCode"] == 7
    remote_path = failure.value.outputs["output"].strip()
    assert not Path(remote_path).exists()


async def test_ssh_cancel_kills_remote_command(sshd, context, step_log):
    marker = f"600.{secrets.randbelow(10**9)}"
    script = f"echo started; sleep {marker}; echo never"
    task = asyncio.create_task(SshRunner().run(key_inputs(sshd, script=script), context))
    await wait_for_log(step_log, "started")
    assert await remote_processes(f"sleep {marker}")

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    for _ in range(50):
        if not await remote_processes(f"sleep {marker}"):
            break
        await asyncio.sleep(0.1)
    assert await remote_processes(f"sleep {marker}") == []
    assert "never" not in step_log.messages()


async def test_ssh_cancel_sends_signal_without_pty(password_server, context, step_log):
    inputs = password_inputs(password_server, script="wait-for-signal")
    task = asyncio.create_task(SshRunner().run(inputs, context))
    await wait_for_log(step_log, "waiting")

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert password_server.signals == ["TERM"]


async def test_ssh_connection_refused(context):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    inputs = {"host": "127.0.0.1", "port": port, "username": "u", "password": "p", "script": "x"}

    with pytest.raises(StepFailure) as failure:
        await SshRunner().run(inputs, context)

    assert failure.value.code == "SSH_CONNECT_FAILED"
    assert f"127.0.0.1:{port}" in failure.value.message


async def test_ssh_silent_server_times_out(context, monkeypatch):
    monkeypatch.setattr(ssh_connect, "CONNECT_TIMEOUT_SECONDS", 0.5)
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    inputs = {"host": "127.0.0.1", "port": port, "username": "u", "password": "p", "script": "x"}

    try:
        with pytest.raises(StepFailure) as failure:
            await SshRunner().run(inputs, context)
    finally:
        silent.close()
        await silent.wait_closed()

    assert failure.value.code == "SSH_TIMEOUT"
    assert "0.5 s" in failure.value.message


VALID = {"host": "127.0.0.1", "username": "u", "password": "p", "script": "true"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"host": None}, "'host'"),
        ({"host": "two words"}, "'host'"),
        ({"username": ""}, "'username'"),
        ({"password": None}, "'password' or 'privateKey'"),
        ({"port": "ssh"}, "'port'"),
        ({"port": 70000}, "'port'"),
        ({"port": True}, "'port'"),
        ({"hostKey": "not a key"}, "'hostKey'"),
        ({"strictHostKeyChecking": "maybe"}, "'strictHostKeyChecking'"),
        ({"privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n"}, "'privateKey'"),
        ({"script": ""}, "'script'"),
    ],
)
async def test_ssh_invalid_input_is_rejected(context, change, named):
    with pytest.raises(StepFailure) as failure:
        await SshRunner().run({**VALID, **change}, context)

    assert failure.value.code == "INPUT_INVALID"
    assert named in failure.value.message
    assert failure.value.retryable is False


@pytest.mark.parametrize(("value", "port"), [(None, 22), ("", 22), (2222, 2222), ("2222", 2222), (22.0, 22)])
def test_parse_port_accepts_numbers_and_digits(value, port):
    assert ssh_connect.parse_port(value) == port


def test_target_repr_hides_secrets():
    target = ssh_connect.SshTarget("example.test", 22, "admin", password="hunter2")

    assert "hunter2" not in repr(target)
    assert repr(target) == "SshTarget(admin@example.test:22)"


def test_stream_capture_splits_lines_across_chunks():
    lines: list[str] = []
    capture = StreamCapture(lines.append, "standard output")

    for chunk in (b"first\nsec", b"ond\r\nthi", b"rd"):
        capture.feed(chunk)
    text = capture.finish()

    assert lines == ["first", "second", "third"]
    assert text == "first\nsecond\r\nthird"


def test_stream_capture_cuts_long_line_into_pieces():
    lines: list[str] = []
    capture = StreamCapture(lines.append, "standard output")

    capture.feed(b"x" * (MAX_LOG_LINE_BYTES + 10) + b"\n")
    capture.finish()

    assert [len(line) for line in lines] == [MAX_LOG_LINE_BYTES, 10]


def test_stream_capture_replaces_invalid_utf8():
    lines: list[str] = []
    capture = StreamCapture(lines.append, "standard output")

    capture.feed(b"caf\xc3\xa9 \xff\n")

    assert capture.finish() == "café \ufffd\n"
    assert lines == ["café \ufffd"]
