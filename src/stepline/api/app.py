"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from stepline import __version__
from stepline.config import Settings
from stepline.design.catalog import STEP_TYPES
from stepline.engine.deps import Engine
from stepline.engine.worker import Worker
from stepline.ui import mount_ui
from stepline.wire.execution import WorkflowExecutionCreateRequest
from stepline.wire.workflow import WorkflowBody

from . import admin, control, executions, logs, workflows
from .errors import ErrorBoundary, install_error_handlers
from .limits import JsonBodyLimit
from .oidc import OidcConfig, OidcVerifier

logger = logging.getLogger("stepline.api")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """Return the OpenAPI document, with the schemas the multipart parts refer to."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (WorkflowExecutionCreateRequest, WorkflowBody):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in model_schema.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[model.__name__] = model_schema
    app.openapi_schema = schema
    return schema


def oidc_verifier(settings: Settings) -> OidcVerifier | None:
    """Return a JWT verifier when OIDC is configured, else None."""
    if not (settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url):
        return None
    config = OidcConfig(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=settings.oidc_jwks_url,
        algorithms=tuple(a.strip() for a in settings.oidc_algorithms.split(",") if a.strip()),
        tenant_claim=settings.oidc_tenant_claim,
        roles_claim=settings.oidc_roles_claim,
    )
    return OidcVerifier(config)


def create_app(engine: Engine, *, run_worker: bool = False) -> FastAPI:
    """Build the app; with `run_worker`, an in-process worker runs beside the API."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker_task = None
        if run_worker:
            worker = Worker(engine)
            app.state.worker = worker
            worker_task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            if worker_task is not None:
                app.state.worker.stop()
                await worker_task
            await engine.db.close()

    app = FastAPI(
        title="Stepline",
        version=__version__,
        description="A workflow service that speaks the Telco Cloud Automation workflow API.",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.worker = None
    app.state.oidc = oidc_verifier(engine.settings)
    install_error_handlers(app)
    app.add_middleware(JsonBodyLimit, max_bytes=engine.settings.max_json_body_bytes)
    # Added last, so it is the outermost of these and also catches errors of the limit.
    app.add_middleware(ErrorBoundary)
    app.include_router(workflows.router)
    app.include_router(executions.router)
    app.include_router(control.router)
    app.include_router(logs.router)
    app.include_router(admin.router)
    mount_ui(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.get("/healthz", tags=["service"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"], summary="Readiness: the database answers")
    async def readyz(request: Request) -> Response:
        try:
            async with engine.db.read() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            logger.warning("readiness_failed: %s", exc)
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get(
        "/tca/workflows/api/v1/stepTypes",
        tags=["service"],
        summary="Step types with their inputs and outputs",
    )
    async def step_types() -> dict[str, Any]:
        return {
            "items": [
                {
                    "type": spec.name,
                    "supported": spec.supported,
                    "description": spec.description,
                    "inputs": {
                        name: {"types": sorted(i.types), "required": i.required, "description": i.description}
                        for name, i in spec.inputs.items()
                    },
                    "outputs": spec.outputs,
                }
                for spec in STEP_TYPES.values()
            ]
        }

    return app
