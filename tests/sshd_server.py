"""Start a real OpenSSH sshd on a free loopback port, for tests that need an SSH peer.

`run_sshd()` generates a host key and a client key in a temporary directory, writes an
sshd configuration that accepts only that client key for the current user, starts
`/usr/sbin/sshd -D -e` and yields an `SshdServer`. The server stops when the block ends.
Running it as root needs `PermitRootLogin yes`, which the configuration sets.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh

SSHD_PATH = Path("/usr/sbin/sshd")
# sshd exits at start when its privilege separation directory is missing.
PRIVILEGE_SEPARATION_DIRECTORY = Path("/run/sshd")
START_TIMEOUT_SECONDS = 10.0


class SshdUnavailable(RuntimeError):
    """sshd is not installed or did not start."""


@dataclass(frozen=True)
class SshdServer:
    """A running sshd and the credentials that log in to it."""

    host: str
    port: int
    username: str
    private_key: str
    host_key: str
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _write_private_key(path: Path, key: asyncssh.SSHKey) -> None:
    path.write_bytes(key.export_private_key("openssh"))
    path.chmod(0o600)


def _config_text(directory: Path, port: int) -> str:
    return "\n".join([
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {directory / 'ssh_host_ed25519_key'}",
        f"AuthorizedKeysFile {directory / 'authorized_keys'}",
        f"PidFile {directory / 'sshd.pid'}",
        "PermitRootLogin yes",
        "UsePAM no",
        "StrictModes no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UseDNS no",
        "PrintMotd no",
        "Subsystem sftp internal-sftp",
        "LogLevel VERBOSE",
        "",
    ])  # fmt: skip


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Wait until sshd sends its SSH banner. Raises SshdUnavailable when sshd exits first."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SshdUnavailable(
                f"sshd exited with code {process.returncode} at start:\n"
                f"{log_path.read_text(errors='replace')}"
            )
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
                if connection.recv(64).startswith(b"SSH-2.0-"):
                    return
        time.sleep(0.05)
    raise SshdUnavailable(
        f"sshd did not accept connections on port {port} within "
        f"{START_TIMEOUT_SECONDS:g} s:\n{log_path.read_text(errors='replace')}"
    )


@contextlib.contextmanager
def run_sshd() -> Iterator[SshdServer]:
    """Run sshd on 127.0.0.1 for the duration of the block."""
    if not SSHD_PATH.exists():
        raise SshdUnavailable(
            f"OpenSSH sshd is not installed at {SSHD_PATH}. Install it with `apt-get install openssh-server`"
        )
    if not PRIVILEGE_SEPARATION_DIRECTORY.exists() and os.geteuid() == 0:
        PRIVILEGE_SEPARATION_DIRECTORY.mkdir(mode=0o755)

    with tempfile.TemporaryDirectory(prefix="stepline-sshd-") as temporary:
        directory = Path(temporary)
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        _write_private_key(directory / "ssh_host_ed25519_key", host_key)
        (directory / "authorized_keys").write_bytes(client_key.export_public_key())
        port = _free_loopback_port()
        config_path = directory / "sshd_config"
        config_path.write_text(_config_text(directory, port))
        log_path = directory / "sshd.log"

        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [str(SSHD_PATH), "-D", "-e", "-f", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        try:
            _wait_until_ready(process, port, log_path)
            yield SshdServer(
                host="127.0.0.1",
                port=port,
                username=pwd.getpwuid(os.getuid()).pw_name,
                private_key=client_key.export_private_key("openssh").decode(),
                host_key=host_key.export_public_key().decode().strip(),
                log_path=log_path,
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
