"""Web UI: a password typed into the start form never reaches a page or a server-sent event."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.ui_browser import UI, ui_session

STREAM_TIMEOUT_SECONDS = 90.0


def secret_design() -> dict[str, Any]:
    """echo logs and returns the password; check fails while `attempt` < 1 and names the password."""
    echo = "console.log('password is ' + inputs.pw); return {echo: inputs.pw};"
    check = (
        "if (inputs.attempt < 1) throw new Error('attempt ' + inputs.attempt + ' with ' + inputs.pw); "
        "return {};"
    )
    return {
        "name": "Secret echo",
        "version": "1",
        "schemaVersion": "3.0",
        "inputs": {
            "password": {"type": "password", "required": True},
            "attempt": {"type": "integer", "required": True},
        },
        "outputs": {"echoed": {"type": "string"}},
        "startStepId": "echo",
        "steps": {
            "echo": {
                "type": "JS",
                "inBindings": {
                    "script": {"type": "string", "defaultValue": echo},
                    "pw": {"type": "password", "exportName": "password"},
                },
                "outBindings": {"echoed": {"name": "echo", "type": "string"}},
                "nextStepId": "check",
            },
            "check": {
                "type": "JS",
                "inBindings": {
                    "script": {"type": "string", "defaultValue": check},
                    "pw": {"type": "password", "exportName": "password"},
                    "attempt": {"type": "integer", "exportName": "attempt"},
                },
            },
        },
    }


def read_stream(client: httpx.Client, url: str, messages: list[str]) -> None:
    """Collect every server-sent event of `url` until the server closes the stream."""
    with client.stream("GET", url, timeout=STREAM_TIMEOUT_SECONDS) as response:
        assert response.status_code == 200, url
        buffer = ""
        for text in response.iter_text():
            buffer += text
            *complete, buffer = buffer.split("\n\n")
            messages.extend(complete)
    if buffer.strip():
        messages.append(buffer)


# Runs in the page before its own scripts: keeps the text of every XHR (htmx) and fetch (start
# form) response in sessionStorage, which outlives the navigation that follows a POST.
RECORD_SCRIPT = """
(() => {
  const keep = (url, text) => {
    const recorded = JSON.parse(sessionStorage.getItem("recorded") || "[]");
    recorded.push([String(url), text]);
    sessionStorage.setItem("recorded", JSON.stringify(recorded));
  };
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    this.addEventListener("load", () => keep(this.responseURL, this.responseText));
    return send.apply(this, args);
  };
  const originalFetch = window.fetch;
  window.fetch = async (...args) => {
    const response = await originalFetch(...args);
    keep(response.url, await response.clone().text());
    return response;
  };
})();
"""


def record_responses(ui: UI, bodies: list[tuple[str, str]]) -> None:
    """Keep the body of every page the browser loads; XHR and fetch responses go to sessionStorage.

    Pages are recorded through request routing of GETs. Chromium does not pass file uploads
    through routing, and a POST's body is gone once the page navigates, so the responses to
    the page's own requests are kept by RECORD_SCRIPT. Event streams are read apart.
    """

    def handle(route: Any) -> None:
        request = route.request
        accept = request.headers.get("accept") or ""
        if request.method != "GET" or "text/event-stream" in accept or "/ui/static/" in request.url:
            route.continue_()
            return
        response = route.fetch()
        bodies.append((request.url, response.text()))
        route.fulfill(response=response)

    ui.page.add_init_script(RECORD_SCRIPT)
    ui.page.route("**/ui/**", handle)


def recorded_in_page(ui: UI) -> list[tuple[str, str]]:
    recorded: list[list[str]] = ui.page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('recorded') || '[]')"
    )
    return [(url, text) for url, text in recorded]


def test_ui_password_never_reaches_pages(tmp_path: Path, db_url: str) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    bodies: list[tuple[str, str]] = []
    events: list[str] = []
    logs: list[str] = []
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        record_responses(ui, bodies)
        workflow_id = ui.upload_design(secret_design(), tmp_path)
        ui.page.goto(f"{ui.base}/workflows/{workflow_id}/start")
        ui.page.fill("#field-password", secret)
        ui.page.fill("#field-attempt", "0")
        ui.page.check("#pause-at-failure")
        ui.page.click("#start-form button[type=submit]")
        ui.page.wait_for_url("**/executions/ex-*")
        execution_id = ui.page.url.rsplit("/", 1)[1]
        page_path = f"/ui/orgs/default/executions/{execution_id}"

        # Both streams from now until the execution ends, every message kept.
        readers = []
        for path, messages in ((f"{page_path}/events", events), (f"{page_path}/log", logs)):
            reader = threading.Thread(target=read_stream, args=(ui.browser_client(), path, messages))
            reader.start()
            readers.append(reader)

        ui.wait_for_status("PAUSED")
        retry_password = ui.page.input_value("#retry-field-password")
        ui.page.click("#execution-steps tr[data-step-id=echo] button")
        ui.page.wait_for_selector("#step-panel .step-panel")
        ui.screenshot("execution-secret-paused")
        ui.page.fill("#retry-field-attempt", "1")
        ui.page.click("#retry-button")
        ui.wait_for_status("COMPLETED")
        ui.page.wait_for_selector("#log-status:has-text('complete')")
        for reader in readers:
            reader.join(STREAM_TIMEOUT_SECONDS)
        streams_open = [reader.is_alive() for reader in readers]

        page_answers = recorded_in_page(ui)

        # Every page of the execution, read again now that it has ended.
        final = ui.api.get(f"{ui.server.api}/workflowExecution/{execution_id}").json()
        paths = [
            page_path,
            f"{page_path}/live",
            f"{page_path}/controls",
            f"{page_path}/log.txt",
            "/ui/orgs/default/executions",
            f"/ui/orgs/default/workflows/{workflow_id}",
            f"/ui/orgs/default/workflows/{workflow_id}/start",
        ] + [f"{page_path}/steps/{step['id']}" for step in final["stepExecutions"]]
        with ui.browser_client() as client:
            for path in paths:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                bodies.append((path, response.text))
            final_events: list[str] = []
            read_stream(client, f"{page_path}/events", final_events)
            final_logs: list[str] = []
            read_stream(client, f"{page_path}/log", final_logs)

    everything = bodies + page_answers + [("events", message) for message in events + final_events]
    everything += [("log", message) for message in logs + final_logs]
    leaks = [where for where, text in everything if secret in text]
    step_panels = [text for where, text in bodies if "/steps/" in where]

    assert final["status"] == "COMPLETED"
    assert streams_open == [False, False]
    assert retry_password == ""
    assert leaks == []
    assert any("password is ******" in message for message in logs)
    assert any("******" in text for text in step_panels)
    assert len([where for where, _ in bodies if where.startswith("http")]) >= 8
    assert any(url.endswith("/start") for url, _ in page_answers)
    assert any(url.endswith("/retry") for url, _ in page_answers)
    assert len(events) >= 3
