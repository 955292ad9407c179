"""The `stepline` command: the server (`serve`, `worker`, `db`) and the client commands.

Client commands talk to a server over HTTP. Modules of the server side are imported
inside the server commands only, so that a client command starts quickly.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import admin, executions, workflows
from .connection import GlobalOptions
from .login import login_command
from .run import run_command

if TYPE_CHECKING:
    from stepline.config import Settings
    from stepline.engine.deps import Engine

app = typer.Typer(
    no_args_is_help=True,
    # Help texts show brackets literally (e.g. JSON examples) instead of reading them as markup.
    rich_markup_mode=None,
    # Tracebacks must never print local variables: they can hold the API token.
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(workflows.app, name="workflows")
app.add_typer(executions.app, name="executions")
app.add_typer(admin.tokens_app, name="tokens")
app.add_typer(admin.tenants_app, name="tenants")
app.command("run")(run_command)
app.command("login")(login_command)


@app.callback()
def global_options(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            envvar="STEPLINE_SERVER",
            help="Server URL (default: from `stepline login`, else http://127.0.0.1:8080)",
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="STEPLINE_TOKEN", help="API token (default: from `stepline login`)")
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            envvar="STEPLINE_TENANT", help="Tenant id (default: from `stepline login`, else `default`)"
        ),
    ] = None,
) -> None:
    """Stepline: a workflow service that speaks the TCA workflow API.

    Exit codes of the client commands: 0 done; 1 a followed execution FAILED, was
    ABORTED or PAUSED (or a 5xx response); 2 usage error or a 4xx response; 3 server
    unreachable.
    """
    ctx.obj = GlobalOptions(server, token, tenant)


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _settings(data_dir: Path | None = None, host: str | None = None, port: int | None = None) -> Settings:
    from stepline.config import Settings

    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    return Settings(**overrides)  # type: ignore[arg-type]


def build_engine(settings: Settings) -> Engine:
    from stepline.engine.deps import Engine
    from stepline.store.blobs import BlobStore
    from stepline.store.db import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Engine(
        Database(settings.resolved_database_url()), BlobStore(settings.resolved_blob_dir()), settings
    )


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [env STEPLINE_HOST, default 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="TCP port [env STEPLINE_PORT, default 8080]")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Data folder: database, blobs, admin token [env STEPLINE_DATA_DIR, default ./stepline-data]"
        ),
    ] = None,
    worker: Annotated[bool, typer.Option(help="Run a worker in this process")] = True,
    log_level: Annotated[str, typer.Option(help="Log level of the server")] = "info",
) -> None:
    """Run the API (and, unless --no-worker, an in-process worker)."""
    import uvicorn

    from stepline.api.app import create_app
    from stepline.store.migrate import upgrade

    _configure_logging(log_level)
    settings = _settings(data_dir, host, port)
    # The folder contains the database, blobs and keys, so only its owner may read it.
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url())
    token_file = settings.data_dir / "admin-token"
    token = asyncio.run(_first_start(settings, token_file))
    if token is not None and settings.bootstrap_token:
        typer.echo("Created tenant 'default' with the admin token from STEPLINE_BOOTSTRAP_TOKEN", err=True)
    elif token is not None:
        typer.echo(f"Created tenant 'default' and an admin token (also in {token_file}):\n{token}", err=True)
    engine = build_engine(settings)
    application = create_app(engine, run_worker=worker)
    uvicorn.run(application, host=settings.host, port=settings.port, log_level=log_level, access_log=False)


async def _first_start(settings: Settings, token_file: Path) -> str | None:
    """Create tenant `default` and the admin token on an empty database.

    The engine is made and closed inside this one event loop: asyncpg connections cannot
    be closed from another loop, and uvicorn runs the server in a new one.
    """
    from stepline.api.bootstrap import bootstrap

    engine = build_engine(settings)
    try:
        return await bootstrap(engine, token_file)
    finally:
        await engine.db.close()


@app.command("worker")
def worker_command(
    log_level: Annotated[str, typer.Option(help="Log level")] = "info",
) -> None:
    """Run a worker without the API (configure it with STEPLINE_DATABASE_URL)."""
    from stepline.engine.worker import Worker

    _configure_logging(log_level)
    settings = _settings()
    engine = build_engine(settings)

    async def main() -> None:
        worker = Worker(engine)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, worker.stop)
        try:
            await worker.run()
        finally:
            await engine.db.close()

    asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest version."""
    from stepline.store.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url())
    typer.echo("database schema is up to date")


@db_app.command("reseal")
def db_reseal() -> None:
    """Seal every stored secret again with the newest key of STEPLINE_SECRET_KEYS."""
    from stepline.engine.reseal import reseal_all

    settings = _settings()
    engine = build_engine(settings)

    async def main() -> int:
        try:
            return await reseal_all(engine)
        finally:
            await engine.db.close()

    changed = asyncio.run(main())
    typer.echo(f"re-sealed the secrets of {changed} rows with the newest key")


if __name__ == "__main__":
    app()
