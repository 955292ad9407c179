"""Rendering of UI pages and fragments, security headers, and errors shown as HTML.

Routes of the UI use `UIRoute`, which turns the services' errors into an HTML error page,
an error fragment for htmx requests, or JSON for the page scripts that ask for it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from stepline.engine.errors import StepLineError
from stepline.store.db import StoreUnavailable

from . import views
from .session import SignInRequired

logger = logging.getLogger("stepline.ui")

UI_DIR = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=UI_DIR / "templates")
templates.env.globals.update(views.TEMPLATE_GLOBALS)
templates.env.filters.update(views.TEMPLATE_FILTERS)

# Scripts and styles come only from /ui/static; inline scripts, eval and framing are blocked.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a template with the UI's security headers."""
    response = templates.TemplateResponse(
        request, template, context, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )
    return response


def redirect(request: Request, url: str) -> Response:
    """Send the browser to `url`: HX-Redirect for htmx requests, 303 otherwise."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def sign_in_url(request: Request) -> str:
    target = request.url.path
    if request.method != "GET" or is_htmx(request):
        target = request.headers.get("HX-Current-URL", "") or "/ui"
    return f"/ui/signin?next={quote(target, safe='/')}"


def error_response(request: Request, status: int, messages: list[str]) -> Response:
    """Show errors as JSON, as a fragment in the page's #flash region, or as a whole page."""
    if wants_json(request):
        errors = [{"pointer": "", "message": message} for message in messages]
        return JSONResponse({"errors": errors}, status_code=status, headers=SECURITY_HEADERS)
    if is_htmx(request):
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return render(request, "_flash.html", {"errors": messages}, status_code=status, headers=headers)
    return render(request, "error.html", {"status": status, "errors": messages}, status_code=status)


class UIRoute(APIRoute):
    """A route whose service errors become HTML (or JSON for page scripts) instead of API JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                if wants_json(request) or request.headers.get("accept") == "text/event-stream":
                    return JSONResponse({"errors": [{"pointer": "", "message": "sign in again"}]}, 401)
                return redirect(request, sign_in_url(request))
            except StepLineError as exc:
                return error_response(request, exc.status, [item.message for item in exc.items])
            except StoreUnavailable as exc:
                logger.error("ui_database_unavailable path=%s: %s", request.url.path, exc)
                return error_response(request, 503, ["the database is unavailable; retry later"])
            except (HTTPException, RequestValidationError):
                raise
            except Exception:
                correlation = uuid.uuid4().hex[:12]
                logger.exception("ui_internal_error correlation=%s path=%s", correlation, request.url.path)
                message = f"internal error; quote correlation id {correlation} when reporting it"
                return error_response(request, 500, [message])

        return guarded
