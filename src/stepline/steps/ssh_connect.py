"""SSH connection inputs and connection setup shared by the SSH and SCP steps.

Host keys: `hostKey` pins one or more public key lines, and the connection is rejected
with HOST_KEY_MISMATCH when the server offers another key. Without `hostKey`, an unknown
key is rejected with HOST_KEY_UNKNOWN, whose message shows the offered key so that the
operator can pin it, unless `strictHostKeyChecking` is false. A pin is checked even when
`strictHostKeyChecking` is false.

No local SSH configuration is read: no ~/.ssh/config, known_hosts, default identities or
agent. Messages and log lines name the host, port and user, never a password or key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncssh

from .base import FileInput, StepContext, StepFailure
from .egress import check_egress

# asyncssh logs each command it runs at INFO, and a command can contain a secret that a
# template put there, so only its warnings and errors reach the server log.
logging.getLogger("asyncssh").setLevel(logging.WARNING)

CONNECT_TIMEOUT_SECONDS = 30.0
KEEPALIVE_INTERVAL_SECONDS = 30.0
CLOSE_TIMEOUT_SECONDS = 2.0
MAX_PRIVATE_KEY_BYTES = 1024 * 1024
DEFAULT_PORT = 22

_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def invalid_input(message: str) -> StepFailure:
    return StepFailure("INPUT_INVALID", message, retryable=False)


@dataclass(frozen=True)
class SshTarget:
    """Connection target: host, port, user and credentials. `repr` leaves out the secrets."""

    host: str
    port: int
    username: str
    password: str | None = None
    private_key: asyncssh.SSHKey | None = None
    pinned_keys: tuple[asyncssh.SSHKey, ...] = ()
    strict_host_key_checking: bool = True

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __repr__(self) -> str:
        return f"SshTarget({self.username}@{self.address})"


async def parse_target(inputs: dict[str, Any], ctx: StepContext) -> SshTarget:
    """Validate the connection inputs and return the target.

    Raises StepFailure(INPUT_INVALID) naming the input that is invalid.
    """
    host = _required_text(inputs, "host")
    if any(character.isspace() for character in host):
        raise invalid_input(f"input 'host' ({host!r}) must be a host name or address")
    password = _optional_text(inputs, "password")
    private_key = await _private_key(inputs, ctx)
    if password is None and private_key is None:
        raise invalid_input("set input 'password' or 'privateKey' to log in")
    return SshTarget(
        host=host,
        port=parse_port(inputs.get("port")),
        username=_required_text(inputs, "username"),
        password=password,
        private_key=private_key,
        pinned_keys=parse_host_keys(inputs.get("hostKey")),
        strict_host_key_checking=parse_bool(
            inputs.get("strictHostKeyChecking"), "strictHostKeyChecking", default=True
        ),
    )


def _required_text(inputs: dict[str, Any], name: str) -> str:
    value = inputs.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_input(f"input '{name}' is missing or empty")
    return value.strip()


def _optional_text(inputs: dict[str, Any], name: str) -> str | None:
    value = inputs.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_input(f"input '{name}' must be a string")
    return value


def parse_port(value: Any) -> int:
    """Parse `port` from an integer, an integral number or a string of digits."""
    if value is None or value == "":
        return DEFAULT_PORT
    port: int | None = None
    if isinstance(value, bool):
        port = None
    elif isinstance(value, int):
        port = value
    elif isinstance(value, float) and value.is_integer():
        port = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        port = int(value.strip())
    if port is None or not 1 <= port <= 65535:
        raise invalid_input(f"input 'port' ({value!r}) must be a port number from 1 to 65535")
    return port


def parse_bool(value: Any, name: str, *, default: bool) -> bool:
    """Parse a boolean input given as a boolean or as true/false, yes/no, on/off, 1/0."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS:
        return True
    if isinstance(value, str) and value.strip().lower() in _FALSE_WORDS:
        return False
    raise invalid_input(f"input '{name}' ({value!r}) must be true or false")


def parse_host_keys(value: Any) -> tuple[asyncssh.SSHKey, ...]:
    """Parse `hostKey`: one public key per line, as in authorized_keys or known_hosts."""
    if value is None or value == "":
        return ()
    if not isinstance(value, str):
        raise invalid_input("input 'hostKey' must be a string such as 'ssh-ed25519 AAAA...'")
    keys = [_parse_host_key_line(line) for line in value.splitlines() if line.strip()]
    return tuple(keys)


def _parse_host_key_line(line: str) -> asyncssh.SSHKey:
    fields = line.split()
    # A known_hosts line starts with a host pattern, but an authorized_keys line does not.
    for start in (0, 1):
        with contextlib.suppress(asyncssh.KeyImportError, ValueError):
            return asyncssh.import_public_key(" ".join(fields[start:]))
    raise invalid_input(
        f"input 'hostKey' line {line.strip()[:80]!r} is not a public key. "
        "Expected a line such as 'ssh-ed25519 AAAA...'"
    )


async def _private_key(inputs: dict[str, Any], ctx: StepContext) -> asyncssh.SSHKey | None:
    value = inputs.get("privateKey")
    if value is None or value == "":
        return None
    if isinstance(value, FileInput):
        content = await ctx.files.read_bytes(value, MAX_PRIVATE_KEY_BYTES)
    elif isinstance(value, str):
        content = value.encode()
    else:
        raise invalid_input("input 'privateKey' must be a key text or a key file")
    passphrase = _optional_text(inputs, "passphrase")
    try:
        return asyncssh.import_private_key(content, passphrase)
    except (asyncssh.KeyEncryptionError, asyncssh.KeyImportError, ValueError) as exc:
        # The library's message is not passed on, in case it quotes the key data.
        if "bcrypt" in str(exc):
            raise StepFailure(
                "SSH_AUTH_FAILED",
                "decrypting an OpenSSH private key needs the Python package bcrypt, "
                "which is not installed on this server",
                retryable=False,
            ) from None
        if isinstance(exc, asyncssh.KeyEncryptionError) or "assphrase" in str(exc):
            raise invalid_input(
                "input 'privateKey' is encrypted and input 'passphrase' is missing or wrong"
            ) from None
        raise invalid_input(
            "input 'privateKey' is not a private key in OpenSSH, PKCS#1 or PKCS#8 format"
        ) from None


class _HostKeyRecorder(asyncssh.SSHClient):
    """Records a host key that is not pinned and rejects it."""

    def __init__(self, offered: list[asyncssh.SSHKey]) -> None:
        self._offered = offered

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self._offered.append(key)
        return False


def _connect_options(target: SshTarget, offered: list[asyncssh.SSHKey]) -> dict[str, Any]:
    if target.pinned_keys:
        known_hosts: Any = (list(target.pinned_keys), [], [])
    elif target.strict_host_key_checking:
        known_hosts = ([], [], [])
    else:
        known_hosts = None
    return {
        "host": target.host,
        "port": target.port,
        "username": target.username,
        "password": target.password,
        "client_keys": [target.private_key] if target.private_key else None,
        "known_hosts": known_hosts,
        "client_factory": lambda: _HostKeyRecorder(offered),
        "config": [],
        "agent_path": None,
        "x509_trusted_certs": None,
        "gss_auth": False,
        "gss_kex": False,
        "host_based_auth": False,
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "keepalive_interval": KEEPALIVE_INTERVAL_SECONDS,
    }


def _describe_key(key: asyncssh.SSHKey) -> str:
    line = key.export_public_key().decode().strip()
    return f"'{line}' ({key.get_fingerprint('sha256')})"


def _host_key_failure(target: SshTarget, offered: list[asyncssh.SSHKey], reason: str) -> StepFailure:
    if not offered:
        return StepFailure(
            "HOST_KEY_UNKNOWN",
            f"the host key of {target.address} could not be verified: {reason}",
            retryable=False,
        )
    key = _describe_key(offered[-1])
    if target.pinned_keys:
        pinned = ", ".join(pin.get_fingerprint("sha256") for pin in target.pinned_keys)
        return StepFailure(
            "HOST_KEY_MISMATCH",
            f"the host key of {target.address} does not match input 'hostKey' ({pinned}). "
            f"The server offered {key}. If the key change is expected, pin the new key",
            retryable=False,
        )
    return StepFailure(
        "HOST_KEY_UNKNOWN",
        f"the host key of {target.address} is unknown. The server offered {key}. Check its "
        "fingerprint, then set input 'hostKey' to this key, or set "
        "'strictHostKeyChecking' to false to accept any key",
        retryable=False,
    )


def connect_failure(exc: BaseException, target: SshTarget, offered: list[asyncssh.SSHKey]) -> StepFailure:
    """Map an exception raised while connecting or logging in to a step failure."""
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return _host_key_failure(target, offered, exc.reason)
    if isinstance(exc, asyncssh.PermissionDenied):
        return StepFailure(
            "SSH_AUTH_FAILED",
            f"authentication as '{target.username}' on {target.address} failed. "
            "Check inputs 'username', 'password' and 'privateKey'",
            retryable=False,
        )
    if isinstance(exc, TimeoutError):
        return StepFailure(
            "SSH_TIMEOUT",
            f"connecting and logging in to {target.address} did not finish within "
            f"{CONNECT_TIMEOUT_SECONDS:g} s",
        )
    reason = exc.reason if isinstance(exc, asyncssh.Error) else str(exc) or type(exc).__name__
    return StepFailure("SSH_CONNECT_FAILED", f"the SSH connection to {target.address} failed: {reason}")


@contextlib.asynccontextmanager
async def open_connection(target: SshTarget, ctx: StepContext) -> AsyncIterator[asyncssh.SSHClientConnection]:
    """Connect and log in, and close the connection when the block ends."""
    await check_egress(ctx, target.host, target.port)
    offered: list[asyncssh.SSHKey] = []
    try:
        connection = await asyncssh.connect(**_connect_options(target, offered))
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise connect_failure(exc, target, offered) from exc
    ctx.log.info(f"connected to {target.address} as {target.username}")
    try:
        yield connection
    finally:
        connection.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await connection.wait_closed()
