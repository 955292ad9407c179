"""Web UI in headless Chromium: sign-in, design upload with located problems, design page, search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.ui_browser import ui_session
from tests.helpers import load_example


def broken_design() -> dict[str, Any]:
    """A design with three problems, each at a different place."""
    return {
        "name": "broken",
        "version": "1",
        "schemaVersion": "3.0",
        "inputs": {"count": {"type": "integr"}},
        "startStepId": "check",
        "steps": {
            "check": {"type": "NOOP", "nextStepId": "nowhere"},
            "report": {"type": "JS", "inBindings": {}},
        },
    }


def test_ui_sign_in_shows_tenant(tmp_path: Path, db_url: str) -> None:
    with ui_session(tmp_path, db_url) as ui:
        ui.page.goto(f"{ui.server.url}/ui/orgs/default/workflows")
        assert "/ui/signin" in ui.page.url
        ui.screenshot("signin")

        ui.page.fill("#token", "not-a-token")
        ui.page.click("form button[type=submit]")
        error = ui.page.text_content("#signin-error") or ""
        ui.sign_in()
        tenant = ui.page.text_content("[data-testid=tenant]")
        cookies = {cookie["name"]: cookie for cookie in ui.page.context.cookies()}

    assert "not valid" in error
    assert tenant == "default"
    assert cookies["stepline_token"]["httpOnly"] is True
    assert cookies["stepline_token"]["sameSite"] == "Strict"
    assert cookies["stepline_csrf"]["sameSite"] == "Strict"


def test_ui_upload_shows_problems_at_lines(tmp_path: Path, db_url: str) -> None:
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        path = tmp_path / "broken.json"
        path.write_text(json.dumps(broken_design(), indent=2))
        ui.page.goto(f"{ui.base}/workflows/new")
        ui.page.set_input_files("#design-file", str(path))
        ui.page.click("#upload-form button[type=submit]")
        ui.page.wait_for_selector("[data-testid=upload-problems]")
        ui.screenshot("upload-problems")
        problems_by_line = ui.page.evaluate(
            """() => Array.from(document.querySelectorAll("li.json-line.has-problem")).map((line) => [
                line.dataset.pointer,
                Array.from(line.querySelectorAll(".problem")).map((problem) => problem.textContent),
            ])"""
        )
        listed = ui.api.get(f"{ui.server.api}/workflow").json()["items"]

    by_pointer = {pointer: " ".join(texts) for pointer, texts in problems_by_line}
    assert set(by_pointer) == {"/inputs/count/type", "/steps/check/nextStepId", "/steps/report/inBindings"}
    assert "unknown type 'integr'" in by_pointer["/inputs/count/type"]
    assert "'nowhere' names no step" in by_pointer["/steps/check/nextStepId"]
    assert "missing required input 'script'" in by_pointer["/steps/report/inBindings"]
    assert listed == []


def test_ui_design_page_graph(tmp_path: Path, db_url: str) -> None:
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        workflow_id = ui.upload_design(load_example("inventory-report"), tmp_path)
        ui.page.wait_for_function("() => window.steplineGraph !== undefined")
        nodes = ui.graph_labels()
        edges = ui.edge_labels()
        inputs = ui.page.locator("section.side table").first.inner_text()
        ui.screenshot("design")

    assert workflow_id.startswith("wf-")
    assert set(nodes) == {"countDevices", "chooseReport", "largeSite", "smallSite"}
    assert nodes["countDevices"].split("\n") == ["countDevices", "JS"]
    assert "deviceCount greater 3" in edges
    assert "otherwise" in edges
    assert "site" in inputs
    assert "inventory" in inputs


def test_ui_workflow_search_and_tags(tmp_path: Path, db_url: str) -> None:
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        inventory = load_example("inventory-report")
        ui.api.put(f"{ui.server.api}/workflow", json=inventory).raise_for_status()
        other = {**inventory, "name": "Router backup", "description": "Backs up routers", "tags": []}
        ui.api.put(f"{ui.server.api}/workflow", json=other).raise_for_status()

        ui.page.goto(f"{ui.base}/workflows")
        all_rows = ui.page.locator("#workflow-results tbody tr").count()
        ui.page.fill("#search", "backup")
        ui.page.wait_for_function(
            "() => document.querySelectorAll('#workflow-results tbody tr').length === 1"
        )
        searched = ui.page.inner_text("#workflow-results tbody")
        ui.page.fill("#search", "")
        ui.page.fill("#tag", "example")
        ui.page.press("#tag", "Enter")
        ui.page.wait_for_function(
            "() => document.querySelector('#workflow-results tbody')?.innerText.includes('Inventory')"
            " && document.querySelectorAll('#workflow-results tbody tr').length === 1"
        )
        tagged = ui.page.inner_text("#workflow-results tbody")
        ui.page.fill("#tag", "")
        ui.page.fill("#search", "no such workflow")
        ui.page.wait_for_selector("#workflow-results .empty")
        ui.page.fill("#search", "")
        ui.page.wait_for_function(
            "() => document.querySelectorAll('#workflow-results tbody tr').length === 2"
        )
        ui.screenshot("workflows")

    assert all_rows == 2
    assert "Router backup" in searched
    assert "Inventory report" in tagged
