"""OIDC bearer tokens: JWTs checked against a configured issuer's keys (JWKS).

The issuer, audience and expiry are required claims, and only the configured
algorithms are accepted, so `none` and an HMAC token signed with a public key
are rejected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

logger = logging.getLogger("stepline.oidc")

JWKS_REFRESH_SECONDS = 300.0
# A token with an unknown key id makes a refresh, but not more often than this.
JWKS_MIN_REFRESH_SECONDS = 30.0
GRANTABLE_ROLES = {"viewer", "designer", "operator", "admin"}


class OidcError(Exception):
    """The JWT is not valid for this server."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    tenant_claim: str = "tenant"
    roles_claim: str = "roles"


@dataclass(frozen=True)
class Claims:
    subject: str
    tenant_id: str
    roles: tuple[str, ...]


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


class OidcVerifier:
    """Verifies JWTs with the issuer's JWKS, fetched over HTTP and cached."""

    def __init__(self, config: OidcConfig) -> None:
        if any(alg.upper().startswith("HS") or alg.lower() == "none" for alg in config.algorithms):
            raise ValueError(
                "invalid OIDC algorithms: use asymmetric ones such as RS256 or ES256, not HS* or none"
            )
        self.config = config
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self, force: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if (not force and age < JWKS_REFRESH_SECONDS) or (force and age < JWKS_MIN_REFRESH_SECONDS):
                return
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(self.config.jwks_url)
                response.raise_for_status()
                document = response.json()
            key_set = jwt.PyJWKSet.from_dict(document)
            self._keys = {key.key_id or "": key for key in key_set.keys}
            self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> Any:
        try:
            await self._refresh(force=False)
            if kid not in self._keys:
                await self._refresh(force=True)
        except (httpx.HTTPError, ValueError, jwt.PyJWKError) as exc:
            logger.warning("oidc_jwks_failed url=%s: %s", self.config.jwks_url, exc)
            raise OidcError("the issuer's keys could not be loaded") from exc
        if kid not in self._keys:
            raise OidcError("unknown key id")
        return self._keys[kid]

    async def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise OidcError("malformed token") from exc
        if header.get("alg") not in self.config.algorithms:
            raise OidcError("algorithm not allowed")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=list(self.config.algorithms),
                audience=self.config.audience,
                issuer=self.config.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise OidcError(str(exc)) from exc
        return self._claims(claims)

    def _claims(self, claims: dict[str, Any]) -> Claims:
        tenant = claims.get(self.config.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise OidcError(f"claim '{self.config.tenant_claim}' is missing")
        raw = claims.get(self.config.roles_claim, [])
        if isinstance(raw, str):
            roles = raw.split()
        elif isinstance(raw, list):
            roles = raw
        else:
            roles = []
        granted = tuple(sorted(role for role in roles if role in GRANTABLE_ROLES))
        return Claims(str(claims["sub"]), tenant, granted)
