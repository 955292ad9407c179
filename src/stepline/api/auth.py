"""Authentication and roles.

A missing or invalid credential is 401 with no body and `WWW-Authenticate: Bearer`.
Credentials are API tokens issued by Stepline or, when configured, OIDC JWTs. A caller
acts in its own tenant; a path naming another tenant is 403, and the role `system` may
act as `admin` in every tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from stepline.engine.deps import Engine
from stepline.engine.errors import NotFound, StepLineError
from stepline.engine.tenancy import tenant_config
from stepline.store import tenants as tenant_store

from .oidc import OidcError, OidcVerifier, looks_like_jwt

ROLES = ("viewer", "designer", "operator", "admin")
# A role includes the roles listed for it.
IMPLIED = {
    "viewer": {"viewer"},
    "designer": {"designer", "viewer"},
    "operator": {"operator", "viewer"},
    "admin": {"admin", "designer", "operator", "viewer"},
    "system": {"system", "admin", "designer", "operator", "viewer"},
}


@dataclass(frozen=True)
class Principal:
    token_id: str
    name: str
    tenant_id: str
    roles: tuple[str, ...]

    def has(self, role: str) -> bool:
        return any(role in IMPLIED.get(held, {held}) for held in self.roles)


class Forbidden(StepLineError):
    status = 403


def unauthorized() -> HTTPException:
    return HTTPException(status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def principal_from_token(
    engine: Engine, token: str, oidc: OidcVerifier | None = None
) -> Principal | None:
    """Return the caller a token stands for, or None when the token is not valid."""
    if not token or len(token) > 8192:
        return None
    if looks_like_jwt(token):
        if oidc is None:
            return None
        try:
            claims = await oidc.verify(token)
        except OidcError:
            return None
        return Principal(f"oidc:{claims.subject}", claims.subject, claims.tenant_id, claims.roles)
    async with engine.db.read() as conn:
        record = await tenant_store.find_token(conn, token)
    if record is None:
        return None
    return Principal(record.id, record.name, record.tenant_id, record.roles)


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise unauthorized()
    oidc: OidcVerifier | None = getattr(request.app.state, "oidc", None)
    principal = await principal_from_token(request.app.state.engine, token.strip(), oidc)
    if principal is None:
        raise unauthorized()
    return principal


async def authorize(request: Request, principal: Principal, tenant_id: str, role: str) -> None:
    """Check the caller against a path's tenant and an operation's role, and load the tenant.

    A caller acts in its own tenant (the role `system` in every tenant) and needs `role`.
    The tenant's settings are left in `request.state.tenant`, where the services read
    upload limits and retention.
    """
    if principal.tenant_id != tenant_id and "system" not in principal.roles:
        message = f"this token belongs to tenant '{principal.tenant_id}', not '{tenant_id}'"
        raise Forbidden("FORBIDDEN", message)
    if not principal.has(role):
        raise Forbidden(
            "FORBIDDEN",
            f"this operation needs the role '{role}'; the token has "
            f"{', '.join(principal.roles) or 'no role'}",
        )
    engine: Engine = request.app.state.engine
    async with engine.db.read() as conn:
        tenant = await tenant_store.get_tenant(conn, tenant_id)
    if tenant is None:
        raise NotFound("TENANT_NOT_FOUND", f"tenant '{tenant_id}' not found")
    request.state.tenant = tenant_config(engine.settings, tenant["settings"])


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """Return a dependency that authenticates, then applies `authorize` for `role`."""

    async def dependency(request: Request, tenantId: str) -> Principal:
        principal = await authenticate(request)
        await authorize(request, principal, tenantId, role)
        return principal

    dependency.required_role = role  # type: ignore[attr-defined]
    return dependency


Viewer = Annotated[Principal, Depends(require("viewer"))]
Designer = Annotated[Principal, Depends(require("designer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
