"""Administration shapes: tenants, their settings, API tokens (Stepline extensions)."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator

from .common import ResponseModel, StrictModel

Role = Literal["viewer", "designer", "operator", "admin"]
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class TenantSettings(StrictModel):
    """Per-tenant settings; a field left out keeps its current value."""

    retentionDays: int | None = Field(default=None, ge=1, le=3650)
    maxFileBytes: int | None = Field(default=None, ge=1)
    maxRequestBytes: int | None = Field(default=None, ge=1)
    maxFiles: int | None = Field(default=None, ge=0, le=10_000)
    # Host patterns that steps may connect to: globs on names or addresses ("*.lab.example",
    # "10.20.*") and CIDR blocks ("10.20.0.0/16"). ["*"] allows every host.
    allowedHosts: list[str] | None = None
    maxConcurrentExecutions: int | None = Field(default=None, ge=1, le=100_000)

    @field_validator("allowedHosts")
    @classmethod
    def _check_hosts(cls, patterns: list[str] | None) -> list[str] | None:
        for pattern in patterns or []:
            if "/" in pattern:
                try:
                    ipaddress.ip_network(pattern, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{pattern!r} is not a valid CIDR block, e.g. 10.20.0.0/16") from exc
            elif not re.fullmatch(r"[A-Za-z0-9.*?:_-]{1,253}", pattern):
                raise ValueError(
                    f"{pattern!r} is not a host pattern: use letters, digits, '.', '-', ':', '*' and '?'"
                )
        return patterns


class TenantCreate(StrictModel):
    id: str = Field(pattern=TENANT_ID_PATTERN)
    name: str = Field(min_length=1, max_length=256)
    settings: TenantSettings | None = None


class Tenant(ResponseModel):
    id: str
    name: str
    createdAt: str
    settings: dict[str, object]


class TokenCreate(StrictModel):
    name: str = Field(min_length=1, max_length=256)
    roles: list[Role] = Field(min_length=1)
    expiresAt: str | None = None


class Token(ResponseModel):
    id: str
    name: str
    roles: list[str]
    createdAt: str
    expiresAt: str | None = None
    revokedAt: str | None = None


class CreatedToken(ResponseModel):
    """A new token; `token` is shown here once and never again."""

    id: str
    name: str
    roles: list[str]
    expiresAt: str | None = None
    token: str
