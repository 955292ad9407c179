"""Resolution of the server, token and tenant that a client command uses.

Each value comes from the first of: the command-line option, its environment variable
(STEPLINE_SERVER, STEPLINE_TOKEN, STEPLINE_TENANT), the configuration file written by
`stepline login`, and a default. The server defaults to http://127.0.0.1:8080 and the
tenant to `default`. A token has no default, except that a command aimed at a loopback
server reads the admin token that `stepline serve` wrote to
`$STEPLINE_DATA_DIR/admin-token` (default `./stepline-data/admin-token`).

The token and tenant of the configuration file are used only for the server stored with
them, so that `--server` aimed elsewhere never sends the stored token there.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from .config_file import config_path, read_config
from .errors import fail

DEFAULT_SERVER = "http://127.0.0.1:8080"
DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class GlobalOptions:
    """The --server, --token and --tenant values given on the command line or in the environment."""

    server: str | None = None
    token: str | None = None
    tenant: str | None = None

    def overridden(self, server: str | None, token: str | None, tenant: str | None) -> GlobalOptions:
        """Return these options with the given non-empty values put in their place."""
        return GlobalOptions(server or self.server, token or self.token, tenant or self.tenant)


@dataclass(frozen=True)
class Connection:
    server: str
    token: str
    tenant: str


def check_server_url(server: str) -> str:
    """Return the URL without a trailing slash; exit with the usage code unless it is http(s)://HOST."""
    try:
        url = httpx.URL(server)
    except httpx.InvalidURL as exc:
        fail(f"invalid server URL {server!r}: {exc}; use e.g. {DEFAULT_SERVER}")
    if url.scheme not in ("http", "https") or not url.host:
        fail(f"invalid server URL {server!r}: use http://HOST:PORT or https://HOST, e.g. {DEFAULT_SERVER}")
    return server.rstrip("/")


def is_loopback(server: str) -> bool:
    host = httpx.URL(server).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_admin_token() -> str | None:
    """Return the admin token of a `stepline serve` started in this folder, if its file exists."""
    token_file = Path(os.environ.get("STEPLINE_DATA_DIR", "./stepline-data")) / "admin-token"
    try:
        return token_file.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def resolve(options: GlobalOptions) -> Connection:
    """Complete the options from the configuration file and the defaults.

    Exits with the usage code when no token can be found or the server URL is invalid.
    """
    stored = read_config(config_path())
    stored_server = check_server_url(stored.get("server") or DEFAULT_SERVER)
    server = check_server_url(options.server) if options.server else stored_server
    hint = ""
    if server != stored_server:
        # The stored token and tenant belong to the stored server: never send them elsewhere.
        if stored.get("token"):
            hint = f" (the stored login is for {stored_server})"
        stored = {}
    tenant = options.tenant or stored.get("tenant") or DEFAULT_TENANT
    token = options.token or stored.get("token")
    # The admin token file is a secret of the local server: never send it elsewhere.
    if not token and is_loopback(server):
        token = local_admin_token()
    if not token:
        fail(f"no API token for {server}{hint}: pass --token, set STEPLINE_TOKEN, or run `stepline login`")
    return Connection(server, token, tenant)
