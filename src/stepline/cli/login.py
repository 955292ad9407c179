"""`stepline login`: check a server, token and tenant, then store them for later commands."""

from __future__ import annotations

from typing import Annotated

import typer

from .client import Api
from .config_file import config_path, read_config, write_config
from .connection import DEFAULT_SERVER, DEFAULT_TENANT, Connection, GlobalOptions, check_server_url
from .errors import fail
from .output import print_line


def login_command(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option(help="Server URL, e.g. http://127.0.0.1:8080")] = None,
    token: Annotated[str | None, typer.Option(help="API token")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant id")] = None,
) -> None:
    """Store a server, API token and tenant in the configuration file, after checking them.

    Values not given as options (here or globally) or in STEPLINE_SERVER,
    STEPLINE_TOKEN and STEPLINE_TENANT are asked for. The check is one request that
    lists workflows of the tenant. The file is STEPLINE_CONFIG, or
    ~/.config/stepline/config.toml, written with mode 0600.
    """
    options = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    options = options.overridden(server, token, tenant)
    path = config_path()
    stored = read_config(path)

    chosen_server = check_server_url(
        options.server or typer.prompt("Server URL", default=stored.get("server") or DEFAULT_SERVER)
    )
    same_server = chosen_server == check_server_url(stored.get("server") or DEFAULT_SERVER)
    chosen_tenant = options.tenant or typer.prompt(
        "Tenant", default=(same_server and stored.get("tenant")) or DEFAULT_TENANT
    )
    chosen_token = options.token
    if not chosen_token:
        stored_token = stored.get("token") if same_server else None
        label = "API token (Enter keeps the stored token)" if stored_token else "API token"
        chosen_token = typer.prompt(label, default=stored_token or "", hide_input=True, show_default=False)
    if not chosen_token.strip():
        fail("no API token given; use the admin token of the server or one from `stepline tokens create`")

    connection = Connection(chosen_server, chosen_token.strip(), chosen_tenant)
    with Api(connection) as api:
        api.call("GET", api.tenant_url("workflow"), params={"limit": 1})
    write_config(path, {"server": connection.server, "token": connection.token, "tenant": connection.tenant})
    print_line(f"logged in to {connection.server} in tenant {connection.tenant}; saved to {path}")
