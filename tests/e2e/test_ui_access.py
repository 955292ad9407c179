"""Web UI over HTTP: sign-in cookies, CSRF checks, roles and tenants, against `stepline serve`."""

from __future__ import annotations

import contextlib
import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.serve import Server, run_serve
from tests.helpers import noop_chain

ORGS = "/tca/workflows/api/v1/orgs"


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[Server]:
    with run_serve(tmp_path / "data", db_url) as running:
        yield running


def browser_like(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, trust_env=False, follow_redirects=False, timeout=30)


def form_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


@contextlib.contextmanager
def sign_in(server: Server, token: str) -> Iterator[tuple[httpx.Client, str]]:
    """Sign in through the form; yield the client with its cookies and the session's CSRF token."""
    with browser_like(server) as client:
        csrf = form_csrf(client.get("/ui/signin").text)
        response = client.post("/ui/signin", data={"token": token, "csrf_token": csrf, "next": ""})
        assert response.status_code == 303, response.text
        yield client, client.cookies["stepline_csrf"]


def paused_execution(server: Server) -> str:
    """An execution paused before its second step, created through the API."""
    with server.client() as api:
        workflow = api.put(f"{server.api}/workflow", json=noop_chain(3)).json()
        request = {"workflowId": workflow["id"], "contextType": "NONE", "debugStepIds": ["s1"]}
        parts = [("workflowExecution", (None, json.dumps(request), "application/json"))]
        created = api.post(f"{server.api}/workflowExecution", files=parts).json()
        deadline = time.monotonic() + 30
        while api.get(f"{server.api}/workflowExecution/{created['id']}").json()["status"] != "PAUSED":
            assert time.monotonic() < deadline, "the execution never paused"
            time.sleep(0.1)
    execution_id: str = created["id"]
    return execution_id


def status_of(server: Server, execution_id: str) -> str:
    with server.client() as api:
        body: dict[str, Any] = api.get(f"{server.api}/workflowExecution/{execution_id}").json()
    return str(body["status"])


def new_token(server: Server, tenant: str, roles: list[str]) -> str:
    with server.client() as api:
        response = api.post(
            f"{server.url}{ORGS}/{tenant}/tokens", json={"name": f"ui-{roles[0]}", "roles": roles}
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def test_ui_pages_need_sign_in(server: Server) -> None:
    with browser_like(server) as client:
        page = client.get("/ui/orgs/default/workflows")
        stream = client.get(
            "/ui/orgs/default/executions/ex-1/events", headers={"Accept": "text/event-stream"}
        )
        script = client.post("/ui/orgs/default/workflows/wf-1/start", headers={"Accept": "application/json"})

    assert page.status_code == 303
    assert page.headers["location"] == "/ui/signin?next=/ui/orgs/default/workflows"
    assert stream.status_code == 401
    assert script.status_code == 401


def test_ui_sign_in_sets_strict_cookies(server: Server) -> None:
    with browser_like(server) as client:
        csrf = form_csrf(client.get("/ui/signin").text)
        wrong = client.post("/ui/signin", data={"token": "wrong", "csrf_token": csrf})
        without_csrf = client.post("/ui/signin", data={"token": server.token})
        response = client.post(
            "/ui/signin", data={"token": server.token, "csrf_token": csrf, "next": "//elsewhere.invalid/x"}
        )
        cookies = response.headers.get_list("set-cookie")
        page = client.get("/ui/orgs/default/executions")

    token_cookie = next(cookie for cookie in cookies if cookie.startswith("stepline_token="))
    assert wrong.status_code == 401
    assert "not valid" in wrong.text
    assert without_csrf.status_code == 403
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/orgs/default/executions"
    assert "HttpOnly" in token_cookie
    assert "SameSite=strict" in token_cookie
    assert "Path=/ui" in token_cookie
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    assert server.token not in page.text


def test_ui_post_needs_csrf_token(server: Server) -> None:
    execution_id = paused_execution(server)
    abort = f"/ui/orgs/default/executions/{execution_id}/abort"
    with sign_in(server, server.token) as (client, csrf):
        missing = client.post(abort)
        wrong = client.post(abort, headers={"X-CSRF-Token": "not-the-token"})
        still = status_of(server, execution_id)
        accepted = client.post(abort, data={"csrf_token": csrf})

    assert missing.status_code == 403
    assert "security token" in missing.text
    assert wrong.status_code == 403
    assert still == "PAUSED"
    assert accepted.status_code == 303
    assert status_of(server, execution_id) == "ABORTED"


def test_ui_viewer_reads_but_cannot_act(server: Server) -> None:
    execution_id = paused_execution(server)
    with sign_in(server, new_token(server, "default", ["viewer"])) as (client, csrf):
        page = client.get(f"/ui/orgs/default/executions/{execution_id}")
        workflows = client.get("/ui/orgs/default/workflows")
        resume = client.post(
            f"/ui/orgs/default/executions/{execution_id}/resume", headers={"X-CSRF-Token": csrf}
        )
        delete = client.post(
            f"/ui/orgs/default/executions/{execution_id}/delete", headers={"X-CSRF-Token": csrf}
        )
        upload = client.get("/ui/orgs/default/workflows/new")

    assert page.status_code == 200
    assert 'id="resume-button"' not in page.text
    assert 'id="abort-button"' not in page.text
    assert "Upload design" not in workflows.text
    assert resume.status_code == 403
    assert "needs the role 'operator'" in html.unescape(resume.text)
    assert delete.status_code == 403
    assert upload.status_code == 403
    assert status_of(server, execution_id) == "PAUSED"


def test_ui_tenants_are_kept_apart(server: Server) -> None:
    with server.client() as api:
        created = api.post(f"{server.url}{ORGS}", json={"id": "blue", "name": "Blue team"})
    assert created.status_code == 200, created.text
    blue_token = new_token(server, "blue", ["admin"])
    with sign_in(server, blue_token) as (blue, _), sign_in(server, server.token) as (system, _):
        home = blue.get("/ui")
        foreign = blue.get("/ui/orgs/default/workflows")
        tenants_page = blue.get("/ui/tenants")
        listed = system.get("/ui/tenants")
        switched = system.get("/ui/orgs/blue/workflows")
        unknown = system.get("/ui/orgs/nowhere/workflows")

    assert home.headers["location"] == "/ui/orgs/blue/executions"
    assert foreign.status_code == 403
    assert tenants_page.status_code == 403
    assert "/ui/orgs/blue/workflows" in listed.text
    assert "/ui/orgs/default/workflows" in listed.text
    assert switched.status_code == 200
    assert 'data-testid="tenant">blue<' in switched.text
    assert unknown.status_code == 404


def test_ui_sign_out_ends_session(server: Server) -> None:
    with sign_in(server, server.token) as (client, csrf):
        signed_out = client.post("/ui/signout", data={"csrf_token": csrf})
        after = client.get("/ui/orgs/default/workflows")

    assert signed_out.status_code == 303
    assert after.status_code == 303
    assert after.headers["location"].startswith("/ui/signin")
