"""Sign-in with an API token, sign-out, the UI's entry page and the tenant switch."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from stepline.api import admin
from stepline.api.auth import Forbidden, principal_from_token

from .responses import UIRoute, redirect, render
from .session import (
    CSRF_COOKIE,
    Session,
    SignInRequired,
    check_csrf,
    clear_session_cookies,
    engine_of,
    new_csrf_token,
    oidc_of,
    set_session_cookies,
    signed_in_principal,
)

logger = logging.getLogger("stepline.ui")
router = APIRouter(prefix="/ui", route_class=UIRoute, include_in_schema=False)


def _home(tenant_id: str) -> str:
    return f"/ui/orgs/{tenant_id}/executions"


def _safe_next(target: str | None) -> str | None:
    """Return `target` when it is a path of the UI, so sign-in never redirects elsewhere."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("")
@router.get("/")
async def ui_home(request: Request) -> Response:
    principal = await signed_in_principal(request)
    if principal is None:
        return redirect(request, "/ui/signin")
    return redirect(request, _home(principal.tenant_id))


def _sign_in_page(request: Request, next_url: str, error: str, status_code: int) -> Response:
    """Render the sign-in form with the session's CSRF token, making one when there is none."""
    csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    context = {"csrf_token": csrf, "next": next_url, "error": error, "session": None}
    response = render(request, "signin.html", context, status_code=status_code)
    set_session_cookies(request, response, None, csrf)
    return response


@router.get("/signin")
async def sign_in_form(request: Request, next: str = "") -> Response:
    return _sign_in_page(request, _safe_next(next) or "", "", 200)


@router.post("/signin")
async def sign_in(
    request: Request,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    await check_csrf(request)
    principal = await principal_from_token(engine_of(request), token.strip(), oidc_of(request))
    if principal is None:
        logger.info("ui_signin_failed client=%s", request.client.host if request.client else "-")
        message = "This token is not valid: it is unknown, revoked or expired. Check it and try again."
        return _sign_in_page(request, _safe_next(next) or "", message, 401)
    logger.info("ui_signin token=%s tenant=%s", principal.token_id, principal.tenant_id)
    response = redirect(request, _safe_next(next) or _home(principal.tenant_id))
    set_session_cookies(request, response, token.strip(), new_csrf_token())
    return response


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    await check_csrf(request)
    response = redirect(request, "/ui/signin")
    clear_session_cookies(response)
    return response


@router.get("/tenants")
async def tenants_page(request: Request) -> Response:
    """List the tenants for a token with the role `system`, which may act in each of them."""
    principal = await signed_in_principal(request)
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if principal is None or not csrf:
        raise SignInRequired()
    if "system" not in principal.roles:
        raise Forbidden("FORBIDDEN", "only a token with the role 'system' may act in other tenants")
    tenants = await admin.list_tenants(principal, request)
    session = Session(principal, principal.tenant_id, csrf)
    return render(request, "tenants.html", {"session": session, "tenants": tenants.items})
