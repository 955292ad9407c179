"""Tenants and API tokens."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
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
    await conn.execute(
        insert(tenants).values(id=tenant_id, name=name, settings=settings or {}, created_at=now_ms())
    )


async def count_tokens(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(api_tokens))).scalar_one())


async def create_token(conn: AsyncConnection, tenant_id: str, name: str, token: str, roles: list[str]) -> str:
    """Store a token by its SHA-256 hash only and return the token's id."""
    token_id = new_id("tok")
    await conn.execute(
        insert(api_tokens).values(
            id=token_id,
            tenant_id=tenant_id,
            name=name,
            token_hash=hash_token(token),
            roles=roles,
            created_at=now_ms(),
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
