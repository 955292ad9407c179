"""Bearer-token authentication.

A missing or unknown token is 401 with no body and `WWW-Authenticate: Bearer`. A token
acts in its own tenant; the role `system` may act in every tenant.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request

from stepline.engine.deps import Engine
from stepline.engine.errors import NotFound, StepLineError
from stepline.store import tenants as tenant_store


@dataclass(frozen=True)
class Principal:
    token_id: str
    name: str
    tenant_id: str
    roles: tuple[str, ...]


class Forbidden(StepLineError):
    status = 403


def unauthorized() -> HTTPException:
    return HTTPException(status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def principal_from_token(engine: Engine, token: str) -> Principal | None:
    """Return the caller a token stands for, or None when the token is not valid."""
    if not token or len(token) > 4096:
        return None
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
    principal = await principal_from_token(request.app.state.engine, token.strip())
    if principal is None:
        raise unauthorized()
    return principal


async def tenant_principal(request: Request, tenantId: str) -> Principal:
    """Authenticate, then check that the caller may act in the path's tenant."""
    principal = await authenticate(request)
    if principal.tenant_id != tenantId and "system" not in principal.roles:
        raise Forbidden(
            "FORBIDDEN", f"this token belongs to tenant '{principal.tenant_id}', not '{tenantId}'"
        )
    engine: Engine = request.app.state.engine
    async with engine.db.read() as conn:
        tenant = await tenant_store.get_tenant(conn, tenantId)
    if tenant is None:
        raise NotFound("TENANT_NOT_FOUND", f"tenant '{tenantId}' not found")
    return principal
