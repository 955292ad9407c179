"""`stepline tokens`, `tenants` and `login`, and where the client takes server, token and tenant from."""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_helpers import Cli, checked_design, closed_port, make_cli, write_json
from tests.e2e.serve import Server, run_serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[Server]:
    with run_serve(tmp_path_factory.mktemp("serve") / "data", module_db_url) as running:
        yield running


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    return make_cli(server, tmp_path)


@pytest.fixture
def bare_cli(tmp_path: Path) -> Cli:
    """A client with no server or token in its environment and no configuration file yet."""
    return Cli(config_path=tmp_path / "home" / "stepline" / "config.toml", cwd=tmp_path)


def create_tenant(cli: Cli, tenant_id: str) -> None:
    result = cli.run("tenants", "create", tenant_id, "--name", f"Tenant {tenant_id}")
    assert result.code == 0, result


def create_token(cli: Cli, tenant_id: str, *roles: str) -> str:
    role_options = [option for role in roles for option in ("--role", role)]
    result = cli.run("--tenant", tenant_id, "tokens", "create", f"{tenant_id}-token", *role_options)
    assert result.code == 0, result
    return result.stdout.strip()


def test_tenants_create_list_settings(cli: Cli) -> None:
    created = cli.run("tenants", "create", "acme", "--name", "Acme Networks", "--json")
    assert created.code == 0, created
    assert created.json()["id"] == "acme"
    assert created.json()["name"] == "Acme Networks"

    listed = cli.run("tenants", "list", "--json")
    assert {item["id"]: item["name"] for item in listed.json()["items"]}["acme"] == "Acme Networks"
    table = cli.run("tenants", "list")
    assert any(line.split()[:3] == ["acme", "Acme", "Networks"] for line in table.stdout.splitlines())

    changed = cli.run("tenants", "set", "acme", "retentionDays=7", 'allowedHosts=["10.20.0.0/16"]', "--json")
    assert changed.code == 0, changed
    assert changed.json()["settings"]["retentionDays"] == 7
    assert changed.json()["settings"]["allowedHosts"] == ["10.20.0.0/16"]

    settings_table = cli.run("tenants", "settings", "acme")
    assert settings_table.code == 0, settings_table
    lines = [line.split() for line in settings_table.stdout.splitlines()]
    assert ["Tenant", "acme", "(Acme", "Networks)"] in lines
    assert ["retentionDays", "7"] in lines
    assert ["allowedHosts", '["10.20.0.0/16"]'] in lines


def test_tenants_errors(cli: Cli) -> None:
    create_tenant(cli, "twice")

    duplicate = cli.run("tenants", "create", "twice")
    assert duplicate.code == 2, duplicate
    assert "tenant 'twice' exists already (TENANT_EXISTS) [HTTP 409]" in duplicate.stderr

    invalid = cli.run("tenants", "set", "twice", "retentionDays=forever")
    assert invalid.code == 2, invalid
    assert "/retentionDays" in invalid.stderr

    malformed = cli.run("tenants", "set", "twice", "retentionDays")
    assert malformed.code == 2, malformed
    assert "invalid setting 'retentionDays': use name=value" in malformed.stderr


def test_tokens_create_list_revoke(cli: Cli, server: Server, tmp_path: Path) -> None:
    create_tenant(cli, "ops")
    created = cli.run(
        "--tenant", "ops", "tokens", "create", "nightly", "--role", "operator", "--role", "viewer"
    )
    assert created.code == 0, created
    secret = created.stdout.strip()
    assert len(created.stdout.splitlines()) == 1
    assert len(secret) > 20
    assert "created token tok-" in created.stderr
    assert "with roles operator, viewer" in created.stderr

    listed = cli.run("--tenant", "ops", "tokens", "list", "--json")
    assert listed.code == 0, listed
    [token] = listed.json()["items"]
    assert token["name"] == "nightly"
    assert token["roles"] == ["operator", "viewer"]
    assert token["revokedAt"] is None
    assert secret not in listed.stdout

    as_operator = cli.run("--tenant", "ops", "workflows", "list", STEPLINE_TOKEN=secret)
    assert as_operator.code == 0, as_operator
    assert "no workflows found" in as_operator.stderr

    revoked = cli.run("--tenant", "ops", "tokens", "revoke", token["id"])
    assert revoked.code == 0, revoked
    assert revoked.stdout.strip() == f"revoked token {token['id']}"
    table = cli.run("--tenant", "ops", "tokens", "list")
    row = next(line for line in table.stdout.splitlines() if line.startswith(token["id"]))
    # ID, NAME, ROLES (2 words), CREATED (date, time), EXPIRES (-), REVOKED (date, time)
    cells = row.split()
    assert cells[1:4] == ["nightly", "operator,", "viewer"]
    assert cells[6] == "-"
    assert len(cells) == 9

    rejected = cli.run("--tenant", "ops", "workflows", "list", STEPLINE_TOKEN=secret)
    assert rejected.code == 2, rejected
    assert "the server rejected the API token (HTTP 401" in rejected.stderr


def test_tokens_errors(cli: Cli) -> None:
    no_role = cli.run("tokens", "create", "roleless")
    assert no_role.code == 2, no_role
    assert "/roles" in no_role.stderr

    unknown = cli.run("tokens", "revoke", "tok-unknown")
    assert unknown.code == 2, unknown
    assert "token 'tok-unknown' not found in tenant 'default'" in unknown.stderr

    as_json = cli.run(
        "tokens", "create", "scripted", "--role", "viewer", "--expires-at", "2099-01-01T00:00:00Z", "--json"
    )
    assert as_json.code == 0, as_json
    assert as_json.json()["expiresAt"] == "2099-01-01T00:00:00.000Z"
    assert as_json.json()["token"]


def test_tenant_admin_cannot_list_tenants(cli: Cli) -> None:
    create_tenant(cli, "limited")
    admin_secret = create_token(cli, "limited", "admin")

    result = cli.run("--tenant", "limited", "tenants", "list", STEPLINE_TOKEN=admin_secret)

    assert result.code == 2, result
    assert "needs the role 'system'" in result.stderr
    assert "HTTP 403" in result.stderr


def test_login_writes_private_config(bare_cli: Cli, server: Server) -> None:
    result = bare_cli.run("login", "--server", server.url, "--token", server.token, "--tenant", "default")

    assert result.code == 0, result
    assert f"logged in to {server.url} in tenant default; saved to {bare_cli.config_path}" in result.stdout
    assert stat.S_IMODE(bare_cli.config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(bare_cli.config_path.parent.stat().st_mode) == 0o700
    stored = tomllib.loads(bare_cli.config_path.read_text())
    assert stored == {"server": server.url, "token": server.token, "tenant": "default"}

    listed = bare_cli.run("workflows", "list", "--json")
    assert listed.code == 0, listed
    assert "items" in listed.json()


def test_login_prompts_for_missing_values(bare_cli: Cli, server: Server) -> None:
    create = make_cli(server, bare_cli.cwd)
    create_tenant(create, "prompted")

    result = bare_cli.run("login", input=f"{server.url}\nprompted\n{server.token}\n")

    assert result.code == 0, result
    assert "Server URL" in result.stdout
    assert "API token" in result.stdout
    assert server.token not in result.stdout
    stored = tomllib.loads(bare_cli.config_path.read_text())
    assert stored == {"server": server.url, "token": server.token, "tenant": "prompted"}

    again = bare_cli.run("login", "--tenant", "default", input=f"{server.url}\n\n")
    assert again.code == 0, again
    assert "Enter keeps the stored token" in again.stdout
    assert tomllib.loads(bare_cli.config_path.read_text())["tenant"] == "default"
    assert tomllib.loads(bare_cli.config_path.read_text())["token"] == server.token


def test_login_rejected_token_writes_nothing(bare_cli: Cli, server: Server) -> None:
    result = bare_cli.run("login", "--server", server.url, "--token", "wrong", "--tenant", "default")

    assert result.code == 2, result
    assert "the server rejected the API token (HTTP 401" in result.stderr
    assert not bare_cli.config_path.exists()


def test_login_unreachable_exit_3(bare_cli: Cli) -> None:
    url = f"http://127.0.0.1:{closed_port()}"

    result = bare_cli.run("login", "--server", url, "--token", "any", "--tenant", "default")

    assert result.code == 3, result
    assert f"server {url} unreachable" in result.stderr
    assert not bare_cli.config_path.exists()


def test_environment_overrides_config(bare_cli: Cli, server: Server, tmp_path: Path) -> None:
    assert (
        bare_cli.run("login", "--server", server.url, "--token", server.token, "--tenant", "default").code
        == 0
    )
    design = write_json(tmp_path / "checked.json", checked_design("env override"))

    wrong_token = bare_cli.run("workflows", "create", str(design), STEPLINE_TOKEN="wrong")
    assert wrong_token.code == 2, wrong_token
    assert "HTTP 401" in wrong_token.stderr

    other_tenant = bare_cli.run("workflows", "list", STEPLINE_TENANT="nowhere")
    assert other_tenant.code == 2, other_tenant
    assert "tenant 'nowhere' not found" in other_tenant.stderr

    option_beats_environment = bare_cli.run(
        "--tenant", "default", "workflows", "list", STEPLINE_TENANT="nowhere"
    )
    assert option_beats_environment.code == 0, option_beats_environment


def test_stored_token_stays_with_its_server(bare_cli: Cli, server: Server) -> None:
    assert (
        bare_cli.run("login", "--server", server.url, "--token", server.token, "--tenant", "default").code
        == 0
    )
    other = f"http://127.0.0.1:{closed_port()}"

    result = bare_cli.run("--server", other, "workflows", "list")

    assert result.code == 2, result
    assert f"no API token for {other} (the stored login is for {server.url})" in result.stderr


def test_invalid_config_file_is_usage_error(bare_cli: Cli) -> None:
    bare_cli.config_path.parent.mkdir(parents=True)
    bare_cli.config_path.write_text('server = "http://127.0.0.1:1"\ntoken = 42\n')
    bare_cli.config_path.chmod(0o600)

    result = bare_cli.run("workflows", "list")

    assert result.code == 2, result
    assert f"invalid configuration file {bare_cli.config_path}: 'token' must be a string" in result.stderr


def test_readable_config_file_warns(bare_cli: Cli, server: Server) -> None:
    bare_cli.config_path.parent.mkdir(parents=True)
    bare_cli.config_path.write_text(f'server = "{server.url}"\ntoken = "{server.token}"\n')
    bare_cli.config_path.chmod(0o644)

    result = bare_cli.run("workflows", "list", "--json")

    assert result.code == 0, result
    assert "other users can read it; run: chmod 600" in result.stderr


def test_local_admin_token_file(bare_cli: Cli, server: Server) -> None:
    token_file = bare_cli.cwd / "stepline-data" / "admin-token"
    token_file.parent.mkdir()
    token_file.write_text(server.token + "\n")

    result = bare_cli.run("workflows", "list", "--json", STEPLINE_SERVER=server.url)

    assert result.code == 0, result
    assert "items" in result.json()
