"""Tenants and API tokens."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .ids import new_id, now_ms
from .tables import api_tokens, tenants


@dataclass(frozen=True)
class TokenRecord:
    id: str
    tenant_id: str
    name: str
    roles: tuple[str, ...]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def get_tenant(conn: AsyncConnection, tenant_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(tenants).where(tenants.c.id == tenant_id))).mappings().first()
    return dict(row) if row else None


async def create_tenant(
    conn: AsyncConnection, tenant_id: str, name: str, settings: dict[str, Any] | None = None
) -> None:
    settings = settings or {}
    await conn.execute(
        insert(tenants).values(
            id=tenant_id,
            name=name,
            settings=settings,
            max_concurrent=settings.get("maxConcurrentExecutions"),
            created_at=now_ms(),
        )
    )


async def count_tokens(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(api_tokens))).scalar_one())


async def create_token(
    conn: AsyncConnection,
    tenant_id: str,
    name: str,
    token: str,
    roles: Sequence[str],
    expires_at: int | None = None,
) -> str:
    """Store a token by its SHA-256 hash only and return the token's id."""
    token_id = new_id("tok")
    await conn.execute(
        insert(api_tokens).values(
            id=token_id,
            tenant_id=tenant_id,
            name=name,
            token_hash=hash_token(token),
            roles=list(roles),
            created_at=now_ms(),
            expires_at=expires_at,
        )
    )
    return token_id


async def find_token(conn: AsyncConnection, token: str) -> TokenRecord | None:
    """Return the live (not revoked, not expired) token with this secret, if any."""
    row = (
        (
            await conn.execute(
                select(api_tokens).where(
                    api_tokens.c.token_hash == hash_token(token),
                    api_tokens.c.revoked_at.is_(None),
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    if row["expires_at"] is not None and row["expires_at"] <= now_ms():
        return None
    return TokenRecord(row["id"], row["tenant_id"], row["name"], tuple(row["roles"]))


async def list_tenants(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(tenants).order_by(tenants.c.id))
    return [dict(row) for row in rows.mappings()]


async def update_tenant_settings(
    conn: AsyncConnection, tenant_id: str, settings: dict[str, Any], max_concurrent: int | None
) -> None:
    await conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(settings=settings, max_concurrent=max_concurrent)
    )


async def list_tokens(conn: AsyncConnection, tenant_id: str) -> list[dict[str, Any]]:
    query = select(api_tokens).where(api_tokens.c.tenant_id == tenant_id).order_by(api_tokens.c.created_at)
    return [dict(row) for row in (await conn.execute(query)).mappings()]


async def get_token(conn: AsyncConnection, tenant_id: str, token_id: str) -> dict[str, Any] | None:
    query = select(api_tokens).where(api_tokens.c.tenant_id == tenant_id, api_tokens.c.id == token_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def revoke_token(conn: AsyncConnection, tenant_id: str, token_id: str) -> None:
    await conn.execute(
        update(api_tokens)
        .where(
            api_tokens.c.tenant_id == tenant_id,
            api_tokens.c.id == token_id,
            api_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=now_ms())
    )
