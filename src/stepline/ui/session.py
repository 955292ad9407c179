"""Browser sessions of the web UI: the API token in a cookie, a CSRF token, the tenant of a page.

The session cookie contains the API token itself (HttpOnly, SameSite=Strict, path /ui), so
the token never reaches page scripts. A second cookie contains a random CSRF token that is
made at each sign-in. Pages embed that token, and every POST must send it back in the
`X-CSRF-Token` header or, for URL-encoded forms, in the `csrf_token` field.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from stepline.api.auth import Forbidden, Principal, authorize, principal_from_token
from stepline.api.oidc import OidcVerifier
from stepline.engine.deps import Engine

logger = logging.getLogger("stepline.ui")

TOKEN_COOKIE = "stepline_token"  # noqa: S105 (a cookie name, not a secret)
CSRF_COOKIE = "stepline_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/ui"
SAFE_METHODS = frozenset({"GET", "HEAD"})


class SignInRequired(Exception):
    """The request has no valid session; the UI responds with the sign-in page."""


@dataclass(frozen=True)
class Session:
    """The signed-in caller, the tenant of the requested page and the CSRF token of the session."""

    principal: Principal
    tenant_id: str
    csrf_token: str

    @property
    def can_switch_tenant(self) -> bool:
        return "system" in self.principal.roles

    def can(self, role: str) -> bool:
        return self.principal.has(role)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def oidc_of(request: Request) -> OidcVerifier | None:
    verifier: OidcVerifier | None = getattr(request.app.state, "oidc", None)
    return verifier


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def set_session_cookies(request: Request, response: Response, token: str | None, csrf: str) -> None:
    """Set the CSRF cookie and, when `token` is given, the session cookie."""
    secure = request.url.scheme == "https"
    options = {"httponly": True, "samesite": "strict", "secure": secure, "path": COOKIE_PATH}
    if token is not None:
        response.set_cookie(TOKEN_COOKIE, token, **options)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf, **options)  # type: ignore[arg-type]


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(TOKEN_COOKIE, path=COOKIE_PATH)
    response.delete_cookie(CSRF_COOKIE, path=COOKIE_PATH)


async def signed_in_principal(request: Request) -> Principal | None:
    """Return the caller of the session cookie, or None without a valid one."""
    token = request.cookies.get(TOKEN_COOKIE, "")
    if not token:
        return None
    return await principal_from_token(engine_of(request), token, oidc_of(request))


async def check_csrf(request: Request) -> None:
    """Reject a state-changing request whose CSRF token does not match the session's."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else ""
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden(
            "CSRF_TOKEN_INVALID",
            "the form's security token is missing or out of date; reload the page and try again",
        )


def session_with(role: str) -> Callable[..., Awaitable[Session]]:
    """Return a dependency for pages under /ui/orgs/{tenantId} that need `role`.

    It raises SignInRequired without a valid session, Forbidden for a foreign tenant, a
    missing role or a bad CSRF token on POST, and NotFound for an unknown tenant.
    """

    async def dependency(request: Request, tenantId: str) -> Session:
        principal = await signed_in_principal(request)
        csrf = request.cookies.get(CSRF_COOKIE, "")
        if principal is None or not csrf:
            raise SignInRequired()
        if request.method not in SAFE_METHODS:
            await check_csrf(request)
        await authorize(request, principal, tenantId, role)
        return Session(principal, tenantId, csrf)

    return dependency


ViewerSession = Annotated[Session, Depends(session_with("viewer"))]
DesignerSession = Annotated[Session, Depends(session_with("designer"))]
OperatorSession = Annotated[Session, Depends(session_with("operator"))]
