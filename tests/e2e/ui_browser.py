"""Headless Debian Chromium, driven by Playwright, against a real `stepline serve` process.

Chromium is Debian's package at /usr/bin/chromium; Playwright never downloads a browser
here. A missing browser or Playwright package fails the test with the command that
installs it, instead of skipping it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.serve import Server, run_serve

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and kept off the network: no background requests, updates or sync.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
ACTION_TIMEOUT_MS = 20_000


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the Python package 'playwright' is missing; install it with "
            "`.venv/bin/pip install playwright` (the browser is Debian's chromium, never downloaded)"
        )
    return sync_playwright


def _check_chromium() -> None:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}; install Debian's package with "
            "`apt-get install -y chromium` (the UI tests never download a browser)"
        )


@dataclass
class UI:
    """A running server, a signed-out browser page on it, and an API client with the admin token."""

    server: Server
    page: Any
    api: httpx.Client

    @property
    def base(self) -> str:
        return f"{self.server.url}/ui/orgs/default"

    def sign_in(self, token: str | None = None) -> None:
        self.page.goto(f"{self.server.url}/ui/signin")
        self.page.fill("#token", token or self.server.token)
        self.page.click("form button[type=submit]")
        self.page.wait_for_url("**/ui/orgs/*/executions")

    def cookies(self) -> dict[str, str]:
        return {cookie["name"]: cookie["value"] for cookie in self.page.context.cookies()}

    def browser_client(self) -> httpx.Client:
        """An HTTP client with the browser's session cookies, for pages the test reads itself."""
        return httpx.Client(base_url=self.server.url, cookies=self.cookies(), timeout=60, trust_env=False)

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def upload_design(self, design: dict[str, Any], tmp_path: Path) -> str:
        """Upload a design through the upload page; return the new workflow's id."""
        path = tmp_path / f"design-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(design, indent=2))
        self.page.goto(f"{self.base}/workflows/new")
        self.page.set_input_files("#design-file", str(path))
        self.page.click("#upload-form button[type=submit]")
        self.page.wait_for_url("**/workflows/wf-*")
        workflow_id: str = self.page.url.rsplit("/", 1)[1]
        return workflow_id

    def graph_states(self) -> dict[str, str]:
        """Return the state class of each step node of the page's graph."""
        states: dict[str, str] = self.page.evaluate(
            """() => Object.fromEntries(window.steplineGraph.nodes('[kind = "step"]')
                 .map((node) => [node.data("stepId"), node.data("state") || ""]))"""
        )
        return states

    def graph_labels(self) -> dict[str, str]:
        labels: dict[str, str] = self.page.evaluate(
            """() => Object.fromEntries(window.steplineGraph.nodes('[kind = "step"]')
                 .map((node) => [node.data("stepId"), node.data("label")]))"""
        )
        return labels

    def edge_labels(self) -> list[str]:
        labels: list[str] = self.page.evaluate(
            "() => window.steplineGraph.edges().map((edge) => edge.data('label'))"
        )
        return labels

    def click_step(self, step_id: str) -> None:
        """Click a step's node on the graph canvas, where a person would click it."""
        self.page.wait_for_function("() => window.steplineGraph !== undefined")
        point = self.page.evaluate(
            """(stepId) => {
                const node = window.steplineGraph.nodes('[kind = "step"]')
                  .filter((candidate) => candidate.data("stepId") === stepId)[0];
                const position = node.renderedPosition();
                const box = window.steplineGraph.container().getBoundingClientRect();
                return { x: box.left + position.x, y: box.top + position.y };
            }""",
            step_id,
        )
        self.page.mouse.click(point["x"], point["y"])

    def wait_for_status(self, status: str, timeout_ms: int = 30_000) -> None:
        """Wait until the execution page shows `status` (its badge carries the word).

        On a timeout the failure message contains the status on the page, the status from the
        API and the end of the server log, to tell a stale page from a stuck execution.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_selector(f'#live-summary [data-status="{status}"]', timeout=timeout_ms)
        except PlaywrightTimeout:
            page_statuses = self.page.eval_on_selector_all(
                "#live-summary [data-status]", "(nodes) => nodes.map((node) => node.dataset.status)"
            )
            execution_id = self.page.url.rsplit("/", 1)[1]
            response = self.api.get(f"{self.server.api}/workflowExecution/{execution_id}")
            api_status = response.status_code
            if response.status_code == 200:
                api_status = response.json().get("status")
            log_tail = self.server.log_path.read_text(errors="replace")[-4000:]
            raise AssertionError(
                f"the page never showed {status}: it shows {page_statuses}, the API returns {api_status}. "
                f"the server log ends with:\n{log_tail}"
            ) from None

    def wait_for_graph(
        self, predicate: Callable[[dict[str, str]], bool], timeout: float = 30.0
    ) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            states = self.graph_states()
            if predicate(states):
                return states
            if time.monotonic() > deadline:
                raise AssertionError(f"the graph never reached the expected states: {states}")
            time.sleep(0.2)


@contextlib.contextmanager
def ui_session(
    tmp_path: Path, database_url: str, viewport: dict[str, int] | None = None, **env: str
) -> Iterator[UI]:
    """Start a server on `database_url` and a headless Chromium page; stop both at the end."""
    sync_playwright = _playwright()
    _check_chromium()
    env.setdefault("STEPLINE_POLL_INTERVAL_SECONDS", "0.1")
    with (
        run_serve(tmp_path / "data", database_url, **env) as server,
        server.client() as api,
        sync_playwright() as driver,
    ):
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport or DESKTOP)
            page = context.new_page()
            page.set_default_timeout(ACTION_TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield UI(server, page, api)
            assert not errors, f"scripts of the page raised errors: {errors}"
        finally:
            browser.close()


def start_through_api(ui: UI, workflow_id: str, assignments: dict[str, Any], **fields: Any) -> str:
    """Create an execution with the API's multipart operation; return its id."""
    request = {"workflowId": workflow_id, "contextType": "NONE", "assignments": assignments, **fields}
    parts = [("workflowExecution", (None, json.dumps(request), "application/json"))]
    response = ui.api.post(f"{ui.server.api}/workflowExecution", files=parts)
    assert response.status_code == 200, response.text
    execution_id: str = response.json()["id"]
    return execution_id


def create_workflow_through_api(ui: UI, design: dict[str, Any]) -> str:
    response = ui.api.put(f"{ui.server.api}/workflow", json=design)
    assert response.status_code == 200, response.text
    workflow_id: str = response.json()["id"]
    return workflow_id
