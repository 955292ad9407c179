"""`stepline tokens` and `stepline tenants`: the administration endpoints.

Tokens act in the tenant of the global --tenant option. Creating and listing tenants
needs a token with the role `system` (the bootstrap token has it).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .client import Api, open_api
from .errors import warn
from .output import JsonOption, print_fields, print_json, print_line, print_table, short_time, text_or_dash
from .values import json_values

tokens_app = typer.Typer(help="API tokens of the current tenant: create, list, revoke.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants and their settings: create, list, set.", no_args_is_help=True)

TenantArgument = Annotated[str, typer.Argument(help="Tenant id")]


def _items(api: Api, url: str) -> list[Any]:
    """Return every item of a list response, whether it is an array or a page with `nextCursor`."""
    response = api.call("GET", url)
    if isinstance(response, list):
        return response
    items: list[Any] = response.get("items", [])
    if response.get("nextCursor"):
        items = api.list_all(url, {})
    return items


@tokens_app.command("create")
def create_token(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the token, e.g. the script or person using it")],
    role: Annotated[
        list[str] | None,
        typer.Option(metavar="ROLE", help="Role: viewer, designer, operator or admin; repeatable"),
    ] = None,
    expires_at: Annotated[
        str | None, typer.Option(help="Time when the token stops working (RFC 3339); default: never")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API token and print its secret, which the server never shows again.

    Standard output gets the secret alone, so that `TOKEN=$(stepline tokens create ci
    --role operator)` works; the token's id and roles go to standard error.
    """
    body: dict[str, Any] = {"name": name}
    if role:
        body["roles"] = role
    if expires_at is not None:
        body["expiresAt"] = expires_at
    with open_api(ctx) as api:
        created = api.call("POST", api.tenant_url("tokens"), json=body)
    if as_json:
        print_json(created)
        return
    roles = ", ".join(created.get("roles") or []) or "none"
    expires = created.get("expiresAt") or "never"
    warn(
        f"created token {created.get('id')} ({created.get('name')}) in tenant {api.connection.tenant} "
        f"with roles {roles}, expires {expires}; store the secret now, it is shown only once:"
    )
    print_line(str(created.get("token")))


@tokens_app.command("list")
def list_tokens(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the API tokens of the tenant (never their secrets)."""
    with open_api(ctx) as api:
        items = _items(api, api.tenant_url("tokens"))
    if as_json:
        print_json({"items": items})
        return
    if not items:
        warn("no tokens found")
        return
    rows = [
        [
            text_or_dash(item.get("id")),
            text_or_dash(item.get("name")),
            ", ".join(item.get("roles") or []) or "-",
            short_time(item.get("createdAt")),
            short_time(item.get("expiresAt")),
            short_time(item.get("revokedAt")),
        ]
        for item in items
    ]
    print_table(["ID", "NAME", "ROLES", "CREATED", "EXPIRES", "REVOKED"], rows)


@tokens_app.command("revoke")
def revoke_token(
    ctx: typer.Context, token_id: Annotated[str, typer.Argument(help="Token id (not the secret)")]
) -> None:
    """Revoke an API token: requests with it are rejected from now on."""
    with open_api(ctx) as api:
        api.call("DELETE", api.tenant_url("tokens", token_id))
    print_line(f"revoked token {token_id}")


@tenants_app.command("create")
def create_tenant(
    ctx: typer.Context,
    tenant_id: TenantArgument,
    name: Annotated[str | None, typer.Option(help="Display name; default: the tenant id")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a tenant (needs the role `system`)."""
    with open_api(ctx) as api:
        created = api.call("POST", api.admin_url(), json={"id": tenant_id, "name": name or tenant_id})
    if as_json:
        print_json(created)
        return
    print_line(f"created tenant {created.get('id', tenant_id)} ({created.get('name', name or tenant_id)})")


@tenants_app.command("list")
def list_tenants(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the tenants (needs the role `system`)."""
    with open_api(ctx) as api:
        items = _items(api, api.admin_url())
    if as_json:
        print_json({"items": items})
        return
    if not items:
        warn("no tenants found")
        return
    rows = [
        [text_or_dash(item.get("id")), text_or_dash(item.get("name")), short_time(item.get("createdAt"))]
        for item in items
    ]
    print_table(["ID", "NAME", "CREATED"], rows)


def _print_settings(response: dict[str, Any], as_json: bool) -> None:
    """Print a tenant's settings from the response, which is the tenant with its `settings` object."""
    if as_json:
        print_json(response)
        return
    settings = response.get("settings") or {}
    fields = [("Tenant", f"{response.get('id')} ({response.get('name')})")]
    fields += [(name, text_or_dash(value)) for name, value in settings.items()]
    print_fields(fields)


@tenants_app.command("settings")
def show_settings(ctx: typer.Context, tenant_id: TenantArgument, as_json: JsonOption = False) -> None:
    """Show the settings of a tenant."""
    with open_api(ctx) as api:
        response = api.call("GET", api.admin_url(tenant_id, "settings"))
    _print_settings(response, as_json)


@tenants_app.command("set")
def set_settings(
    ctx: typer.Context,
    tenant_id: TenantArgument,
    values: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME=VALUE...",
            help="Settings as NAME=VALUE; VALUE is JSON when it parses as JSON, otherwise text",
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Change settings of a tenant and print all its settings."""
    changes = json_values(values, "setting")
    with open_api(ctx) as api:
        response = api.call("PATCH", api.admin_url(tenant_id, "settings"), json=changes)
    _print_settings(response, as_json)
