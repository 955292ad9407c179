"""Administration: tenants (role system), tenant settings and API tokens (role admin)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.exc import IntegrityError

from stepline.engine.deps import Engine
from stepline.engine.errors import Conflict, InvalidRequest, NotFound
from stepline.engine.tenancy import tenant_config
from stepline.store import tenants as tenant_store
from stepline.store.ids import now_ms
from stepline.wire.admin import CreatedToken, Tenant, TenantCreate, TenantSettings, Token, TokenCreate
from stepline.wire.common import Page, format_time, parse_time

from .auth import Admin, Forbidden, Principal, authenticate
from .workflows import ERRORS

ORGS = "/tca/workflows/api/v1/orgs"
router = APIRouter(tags=["administration"])
# Marks Stepline API tokens, so secret scanners and people can recognise a leaked one.
TOKEN_PREFIX = "stl_"  # noqa: S105


async def require_system(request: Request) -> Principal:
    principal = await authenticate(request)
    if "system" not in principal.roles:
        raise Forbidden("FORBIDDEN", "this operation needs the role 'system' (the bootstrap admin token)")
    return principal


System = Annotated[Principal, Depends(require_system)]
require_system.required_role = "system"  # type: ignore[attr-defined]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _tenant(engine: Engine, row: dict[str, Any]) -> Tenant:
    settings = tenant_config(engine.settings, row["settings"]).as_wire()
    return Tenant(
        id=row["id"], name=row["name"], createdAt=format_time(row["created_at"]) or "", settings=settings
    )


@router.get(ORGS, response_model=Page[Tenant], responses=ERRORS, summary="List tenants")
async def list_tenants(caller: System, request: Request) -> Page[Tenant]:
    engine = _engine(request)
    async with engine.db.read() as conn:
        rows = await tenant_store.list_tenants(conn)
    return Page[Tenant](items=[_tenant(engine, row) for row in rows])


@router.post(ORGS, response_model=Tenant, responses=ERRORS, summary="Create a tenant")
async def create_tenant(caller: System, request: Request, body: TenantCreate) -> Tenant:
    engine = _engine(request)
    settings = body.settings.model_dump(exclude_none=True) if body.settings else {}
    try:
        async with engine.db.write() as conn:
            await tenant_store.create_tenant(conn, body.id, body.name, settings)
            row = await tenant_store.get_tenant(conn, body.id)
    except IntegrityError as exc:
        raise Conflict("TENANT_EXISTS", f"tenant '{body.id}' exists already") from exc
    assert row is not None
    return _tenant(engine, row)


@router.get(
    ORGS + "/{tenantId}/settings", response_model=Tenant, responses=ERRORS, summary="Read tenant settings"
)
async def get_settings(tenantId: str, caller: Admin, request: Request) -> Tenant:
    engine = _engine(request)
    async with engine.db.read() as conn:
        row = await tenant_store.get_tenant(conn, tenantId)
    assert row is not None
    return _tenant(engine, row)


@router.patch(
    ORGS + "/{tenantId}/settings", response_model=Tenant, responses=ERRORS, summary="Change tenant settings"
)
async def patch_settings(tenantId: str, caller: Admin, request: Request, body: TenantSettings) -> Tenant:
    engine = _engine(request)
    async with engine.db.write() as conn:
        row = await tenant_store.get_tenant(conn, tenantId)
        assert row is not None
        merged = {**row["settings"], **body.model_dump(exclude_unset=True)}
        merged = {key: value for key, value in merged.items() if value is not None}
        await tenant_store.update_tenant_settings(
            conn, tenantId, merged, merged.get("maxConcurrentExecutions")
        )
        row = {**row, "settings": merged}
    return _tenant(engine, row)


def _token(row: dict[str, Any]) -> Token:
    return Token(
        id=row["id"],
        name=row["name"],
        roles=list(row["roles"]),
        createdAt=format_time(row["created_at"]) or "",
        expiresAt=format_time(row["expires_at"]),
        revokedAt=format_time(row["revoked_at"]),
    )


@router.get(
    ORGS + "/{tenantId}/tokens", response_model=Page[Token], responses=ERRORS, summary="List API tokens"
)
async def list_tokens(tenantId: str, caller: Admin, request: Request) -> Page[Token]:
    async with _engine(request).db.read() as conn:
        rows = await tenant_store.list_tokens(conn, tenantId)
    return Page[Token](items=[_token(row) for row in rows])


@router.post(
    ORGS + "/{tenantId}/tokens",
    response_model=CreatedToken,
    responses=ERRORS,
    summary="Create an API token; its secret is returned once",
)
async def create_token(tenantId: str, caller: Admin, request: Request, body: TokenCreate) -> CreatedToken:
    expires_at = None
    if body.expiresAt is not None:
        try:
            expires_at = parse_time(body.expiresAt)
        except ValueError as exc:
            raise InvalidRequest("VALIDATION_FAILED", f"/expiresAt: {exc}") from exc
        if expires_at <= now_ms():
            raise InvalidRequest("VALIDATION_FAILED", f"/expiresAt: {body.expiresAt} is in the past")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    roles = sorted(set(body.roles))
    async with _engine(request).db.write() as conn:
        token_id = await tenant_store.create_token(conn, tenantId, body.name, secret, roles, expires_at)
    return CreatedToken(
        id=token_id, name=body.name, roles=roles, expiresAt=format_time(expires_at), token=secret
    )


@router.delete(
    ORGS + "/{tenantId}/tokens/{tokenId}", status_code=204, responses=ERRORS, summary="Revoke a token"
)
async def revoke_token(tenantId: str, tokenId: str, caller: Admin, request: Request) -> Response:
    async with _engine(request).db.write() as conn:
        if await tenant_store.get_token(conn, tenantId, tokenId) is None:
            raise NotFound("TOKEN_NOT_FOUND", f"token '{tokenId}' not found in tenant '{tenantId}'")
        await tenant_store.revoke_token(conn, tenantId, tokenId)
    return Response(status_code=204)
