"""The client configuration file written by `stepline login`.

It is TOML with three string keys, e.g.::

    server = "http://127.0.0.1:8080"
    token = "..."
    tenant = "default"

The path is STEPLINE_CONFIG when set, otherwise `stepline/config.toml` under
XDG_CONFIG_HOME (default `~/.config`). The file contains a token, so it is written with
mode 0600 in a folder created with mode 0700.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from .errors import ExitCode, fail, warn

KEYS = ("server", "token", "tenant")


def config_path() -> Path:
    """Return the path of the configuration file (which may not exist)."""
    override = os.environ.get("STEPLINE_CONFIG")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "stepline" / "config.toml"


def read_config(path: Path) -> dict[str, str]:
    """Read the string values of KEYS from the file; a missing file gives {}.

    Exits with the usage code when the file is not valid TOML or a value is not a string.
    """
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as exc:
        fail(f"cannot read the configuration file {path}: {exc.strerror}", ExitCode.USAGE)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(f"warning: {path} contains a token and other users can read it; run: chmod 600 {path}")
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        fail(f"invalid configuration file {path}: {exc}; fix it or run `stepline login` again")
    values: dict[str, str] = {}
    for key in KEYS:
        value = document.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            fail(f"invalid configuration file {path}: '{key}' must be a string")
        values[key] = value
    return values


def write_config(path: Path, values: dict[str, str]) -> None:
    """Replace the file with `values`, readable only by the current user.

    The new content goes to a temporary file in the same folder first, so a crash
    leaves either the old file or the new one.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = "".join(f"{key} = {toml_string(values[key])}\n" for key in KEYS if key in values)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def toml_string(value: str) -> str:
    """Quote a value as a TOML basic string, escaping what TOML does not allow raw."""
    escaped = []
    for char in value:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
