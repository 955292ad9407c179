"""Credentials: API tokens and OIDC JWTs; every bad credential is a bare 401."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import update

from stepline.api.app import create_app
from stepline.api.bootstrap import bootstrap
from stepline.engine.deps import Engine
from stepline.store.blobs import BlobStore
from stepline.store.db import Database
from stepline.store.tables import api_tokens
from tests.conftest import ADMIN_TOKEN, make_settings

WORKFLOWS = "/tca/workflows/api/v1/orgs/default/workflow"
ISSUER = "https://issuer.stepline.test"
AUDIENCE = "stepline"


def _b64(number: int) -> str:
    data = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """Serve the public key as a JWKS document on loopback."""
    numbers = signing_key.public_key().public_numbers()
    document = json.dumps(
        {
            "keys": [
                {
                    "kty": "RSA",
                    "kid": "k1",
                    "use": "sig",
                    "alg": "RS256",
                    "n": _b64(numbers.n),
                    "e": _b64(numbers.e),
                }
            ]
        }
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


@pytest.fixture
async def oidc_client(tmp_path: Path, db_url: str, jwks_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        tmp_path,
        db_url,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=jwks_url,
        oidc_algorithms="RS256",
    )
    engine = Engine(
        Database(settings.resolved_database_url()), BlobStore(settings.resolved_blob_dir()), settings
    )
    await bootstrap(engine, None)
    app = create_app(engine)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://stepline.test"
        ) as http:
            yield http


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "exp": now + 300,
        "iat": now,
        "tenant": "default",
        "roles": ["viewer"],
    }
    values.update(changes)
    return values


def sign(key: rsa.RSAPrivateKey, **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": "k1"})


def assert_bare_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["www-authenticate"] == "Bearer"


async def test_valid_jwt_is_accepted(oidc_client: httpx.AsyncClient, signing_key: rsa.RSAPrivateKey) -> None:
    response = await oidc_client.get(WORKFLOWS, headers={"Authorization": f"Bearer {sign(signing_key)}"})

    assert response.status_code == 200, response.text


async def test_jwt_role_is_enforced(oidc_client: httpx.AsyncClient, signing_key: rsa.RSAPrivateKey) -> None:
    token = sign(signing_key)

    response = await oidc_client.put(WORKFLOWS, json={}, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403


def _bad_tokens(key: rsa.RSAPrivateKey) -> dict[str, str]:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header_none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT","kid":"k1"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=").decode()
    # An HS256 token whose HMAC secret is the server's public key: the classic algorithm swap.
    swapped_header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT","kid":"k1"}').rstrip(b"=").decode()
    import hashlib
    import hmac

    signing_input = f"{swapped_header}.{body}".encode()
    swapped_sig = base64.urlsafe_b64encode(
        hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    ).rstrip(b"=")
    return {
        "expired": sign(key, exp=int(time.time()) - 3600),
        "other key": jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "k1"}),
        "alg none": f"{header_none}.{body}.",
        "alg swap": f"{swapped_header}.{body}.{swapped_sig.decode()}",
        "wrong audience": sign(key, aud="someone-else"),
        "wrong issuer": sign(key, iss="https://evil.test"),
        "unknown kid": jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k9"}),
        "no tenant": sign(key, tenant=None),
        "malformed": "eyJhbGciOi.broken.token",
    }


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "other key",
        "alg none",
        "alg swap",
        "wrong audience",
        "wrong issuer",
        "unknown kid",
        "no tenant",
        "malformed",
    ],
)
async def test_bad_jwt_is_bare_401(
    oidc_client: httpx.AsyncClient, signing_key: rsa.RSAPrivateKey, case: str
) -> None:
    token = _bad_tokens(signing_key)[case]

    response = await oidc_client.get(WORKFLOWS, headers={"Authorization": f"Bearer {token}"})

    assert_bare_401(response)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-token", "bearer " + "x" * 9000],
)
async def test_missing_or_malformed_token(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    client.headers.pop("Authorization", None)

    response = await client.get(WORKFLOWS, headers=headers)

    assert_bare_401(response)
    client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"


async def test_revoked_token_is_401(client: httpx.AsyncClient) -> None:
    created = (
        await client.post(
            "/tca/workflows/api/v1/orgs/default/tokens", json={"name": "t", "roles": ["viewer"]}
        )
    ).json()
    before = await client.get(WORKFLOWS, headers={"Authorization": f"Bearer {created['token']}"})

    revoked = await client.delete(f"/tca/workflows/api/v1/orgs/default/tokens/{created['id']}")
    after = await client.get(WORKFLOWS, headers={"Authorization": f"Bearer {created['token']}"})

    assert before.status_code == 200
    assert revoked.status_code == 204
    assert_bare_401(after)


async def test_expired_token_is_401(client: httpx.AsyncClient, engine: Engine) -> None:
    created = (
        await client.post(
            "/tca/workflows/api/v1/orgs/default/tokens", json={"name": "t", "roles": ["viewer"]}
        )
    ).json()
    async with engine.db.write() as conn:
        await conn.execute(update(api_tokens).where(api_tokens.c.id == created["id"]).values(expires_at=1))

    response = await client.get(WORKFLOWS, headers={"Authorization": f"Bearer {created['token']}"})

    assert_bare_401(response)


async def test_token_secret_is_shown_once(client: httpx.AsyncClient) -> None:
    created = (
        await client.post("/tca/workflows/api/v1/orgs/default/tokens", json={"name": "t", "roles": ["admin"]})
    ).json()

    listing = await client.get("/tca/workflows/api/v1/orgs/default/tokens")

    assert created["token"].startswith("stl_")
    assert created["token"] not in listing.text
    assert {item["name"] for item in listing.json()["items"]} >= {"admin", "t"}
