"""The one place where exceptions become HTTP responses."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepline.engine.errors import ErrorItem, StepLineError
from stepline.store.db import StoreUnavailable

logger = logging.getLogger("stepline.api")


def error_body(items: list[tuple[str, str]]) -> dict[str, Any]:
    """Return TCA's error body; messages go through ErrorItem, which escapes lone surrogates."""
    entries = [ErrorItem(code, message) for code, message in items]
    return {"errors": [{"code": entry.code, "message": entry.message} for entry in entries]}


def pointer_of(location: tuple[Any, ...]) -> str:
    """Turn a pydantic error location into a JSON pointer, without the 'body' prefix."""
    parts = [str(part) for part in location if part not in ("body",)]
    escaped = [part.replace("~", "~0").replace("/", "~1") for part in parts]
    return "/" + "/".join(escaped)


def validation_items(errors: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    items = []
    for error in errors:
        pointer = prefix + pointer_of(tuple(error.get("loc", ())))
        kind = error.get("type")
        if kind == "extra_forbidden":
            message = f"{pointer}: unknown field; remove it or check its spelling"
        elif kind == "missing":
            message = f"{pointer}: missing required field"
        elif kind == "json_invalid":
            message = f"{prefix or '/'}: invalid JSON: {error.get('msg')}"
        else:
            message = f"{pointer}: {error.get('msg')}"
        items.append(("VALIDATION_FAILED", message))
    return items


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StepLineError)
    async def on_stepline_error(_request: Request, exc: StepLineError) -> Response:
        body = error_body([(item.code, item.message) for item in exc.items])
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse(error_body(validation_items(list(exc.errors()))), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 401:
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        return JSONResponse(
            error_body([(code, str(exc.detail))]), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(StoreUnavailable)
    async def on_store_unavailable(_request: Request, exc: StoreUnavailable) -> Response:
        logger.error("database_unavailable: %s", exc)
        body = error_body([("DATABASE_UNAVAILABLE", "the database is unavailable; retry later")])
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


class ErrorBoundary:
    """Turn an unexpected exception into a 500 with a correlation id, logged once.

    A handler registered for Exception would make Starlette re-raise after responding, so
    the server would log every traceback a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            correlation = uuid.uuid4().hex[:12]
            logger.exception("internal_error correlation=%s path=%s", correlation, scope.get("path"))
            if started:
                # The status line is sent already; closing the connection is all that is left.
                return
            message = f"internal error; quote correlation id {correlation} when reporting it"
            response = JSONResponse(error_body([("INTERNAL_ERROR", message)]), status_code=500)
            await response(scope, receive, send)
