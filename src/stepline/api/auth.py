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


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        raise unauthorized()
    engine: Engine = request.app.state.engine
    async with engine.db.read() as conn:
        record = await tenant_store.find_token(conn, token)
    if record is None:
        raise unauthorized()
    return Principal(record.id, record.name, record.tenant_id, record.roles)


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
