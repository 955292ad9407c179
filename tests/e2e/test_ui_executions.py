"""Web UI in headless Chromium: start with a file, breakpoints, resume, retry, abort, live list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.ui_browser import create_workflow_through_api, start_through_api, ui_session
from tests.helpers import busy_js, js_step


def line_count_design() -> dict[str, Any]:
    """count (reads a file) -> review (a condition whose two edges both lead on) -> report."""
    return {
        "name": "Line count",
        "version": "1",
        "schemaVersion": "3.0",
        "inputs": {
            "site": {"type": "string", "required": True, "description": "Site name"},
            "inventory": {"type": "file", "required": True},
        },
        "variables": {"lines": {"type": "integer"}},
        "outputs": {"summary": {"type": "string"}},
        "startStepId": "count",
        "steps": {
            "count": {
                "type": "JS",
                "inBindings": {
                    "script": {
                        "type": "string",
                        "defaultValue": "const n = inputs.csv.trim().split('\\n').length; "
                        "console.log('read ' + n + ' lines'); return {n: n};",
                    },
                    "csv": {"type": "file", "exportName": "inventory"},
                },
                "outBindings": {"lines": {"name": "n", "type": "integer"}},
                "nextStepId": "review",
            },
            "review": {
                "type": "NOOP",
                "conditions": [
                    {"name": "lines", "comparator": "greater", "value": 0, "nextStepId": "report"}
                ],
                "nextStepId": "report",
            },
            "report": {
                "type": "JS",
                "inBindings": {
                    "script": {
                        "type": "string",
                        "defaultValue": "return {s: inputs.site + ': ' + inputs.n};",
                    },
                    "site": {"type": "string", "exportName": "site"},
                    "n": {"type": "integer", "exportName": "lines"},
                },
                "outBindings": {"summary": {"name": "s", "type": "string"}},
            },
        },
    }


def checked_design() -> dict[str, Any]:
    """prepare -> double (fails while input n is negative) -> finish."""
    script = "if (inputs.n < 0) throw new Error('n is negative'); return {doubled: inputs.n * 2};"
    return {
        "name": "Checked",
        "version": "1",
        "schemaVersion": "3.0",
        "inputs": {"n": {"type": "integer", "required": True}},
        "startStepId": "prepare",
        "steps": {
            "prepare": {"type": "NOOP", "nextStepId": "double"},
            "double": {
                **js_step(script, nextStepId="finish"),
                "inBindings": {
                    "script": {"type": "string", "defaultValue": script},
                    "n": {"type": "integer", "exportName": "n"},
                },
            },
            "finish": {"type": "NOOP"},
        },
    }


def test_ui_breakpoint_resume_completes(tmp_path: Path, db_url: str) -> None:
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("name\nr1\nr2\nr3\n")
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        workflow_id = ui.upload_design(line_count_design(), tmp_path)
        ui.page.goto(f"{ui.base}/workflows/{workflow_id}/start")

        # A missing required input is reported next to its field, and nothing starts.
        ui.page.set_input_files("#field-inventory", str(inventory))
        ui.page.click("#start-form button[type=submit]")
        site_error = ui.page.wait_for_selector("#field-site-error:not([hidden])").inner_text()
        nothing = ui.api.get(f"{ui.server.api}/workflowExecution").json()["items"]

        ui.page.fill("#field-site", "north")
        ui.click_step("review")
        breakpoint_ticked = ui.page.is_checked("input[data-breakpoint][value=review]")
        ui.screenshot("start")
        ui.page.click("#start-form button[type=submit]")
        ui.page.wait_for_url("**/executions/ex-*")
        ui.wait_for_status("PAUSED")
        paused = ui.wait_for_graph(lambda states: states.get("review") == "paused")
        paused_label = ui.graph_labels()["review"]
        ui.screenshot("execution-paused")

        # Resume with the keyboard alone.
        ui.page.focus("#resume-button")
        ui.page.keyboard.press("Enter")
        ui.wait_for_status("COMPLETED")
        notice = ui.page.wait_for_selector("#flash .flash-notice").inner_text()
        done = ui.wait_for_graph(lambda states: all(state == "success" for state in states.values()))
        ui.page.wait_for_selector("#log-status:has-text('complete')")
        log_text = ui.page.inner_text("#log")
        outputs = ui.page.inner_text("#live-summary")
        ui.screenshot("execution-completed")

    assert "missing required input 'site'" in site_error
    assert nothing == []
    assert breakpoint_ticked
    assert paused == {"count": "success", "review": "paused", "report": "pending"}
    assert "paused at breakpoint" in paused_label
    assert "Resumed." in notice
    assert done == {"count": "success", "review": "success", "report": "success"}
    assert "read 4 lines" in log_text
    assert "resumed at step 'review'" in log_text
    assert "north: 4" in outputs


def test_ui_retry_with_edited_value(tmp_path: Path, db_url: str) -> None:
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        workflow_id = create_workflow_through_api(ui, checked_design())
        ui.page.goto(f"{ui.base}/workflows/{workflow_id}/start")
        ui.page.fill("#field-n", "-1")
        ui.page.click("#start-form button[type=submit]")
        ui.page.wait_for_url("**/executions/ex-*")
        ui.wait_for_status("FAILED")
        failed = ui.wait_for_graph(lambda states: states.get("double") == "failure")
        ui.page.click("#execution-steps tr[data-step-id=double] button")
        error = ui.page.wait_for_selector("#step-panel .step-error").inner_text()
        ui.screenshot("execution-failed")

        # A value that is not an integer is reported at its field, and nothing is retried.
        ui.page.fill("#retry-field-n", "2.5")
        ui.page.click("#retry-button")
        field_error = ui.page.wait_for_selector("#retry-field-n-error:not([hidden])").inner_text()
        ui.page.fill("#retry-field-n", "3")
        ui.page.click("#retry-button")
        ui.wait_for_status("COMPLETED")
        done = ui.wait_for_graph(lambda states: all(state == "success" for state in states.values()))
        rows = ui.page.locator("#execution-steps tbody tr").all_inner_texts()
        execution_id = ui.page.url.rsplit("/", 1)[1]
        final = ui.api.get(f"{ui.server.api}/workflowExecution/{execution_id}").json()
        ui.screenshot("execution-retried")

    assert failed["double"] == "failure"
    assert "n is negative" in error
    assert "expected an integer" in field_error
    assert done == {"prepare": "success", "double": "success", "finish": "success"}
    assert len(rows) == 4
    assert "failed" in rows[1]
    assert final["assignments"]["n"] == 3
    assert final["stepExecutions"][2]["outputs"] == {"doubled": 6}



def test_ui_retry_form_keeps_edits(tmp_path: Path, db_url: str) -> None:
    """A change that leaves the status alone refreshes the summary, never the form being edited."""
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        workflow_id = create_workflow_through_api(ui, checked_design())
        execution_id = start_through_api(ui, workflow_id, {"n": -1}, pauseAtFailure=True)
        ui.page.goto(f"{ui.base}/executions/{execution_id}")
        ui.wait_for_status("PAUSED")
        ui.page.fill("#retry-field-n", "5")

        # Another operator sets a breakpoint on a step that has run: the status stays PAUSED.
        changed = ui.api.patch(
            f"{ui.server.api}/workflowExecution/{execution_id}", json={"debugStepIds": ["prepare"]}
        )
        ui.page.wait_for_selector("#live-summary:has-text('breakpoints: prepare')")
        field_value = ui.page.input_value("#retry-field-n")
        ui.page.click("#retry-button")
        ui.wait_for_status("COMPLETED")
        final = ui.api.get(f"{ui.server.api}/workflowExecution/{execution_id}").json()

    assert changed.status_code == 200, changed.text
    assert field_value == "5"
    assert final["assignments"]["n"] == 5
    assert final["stepExecutions"][-2]["outputs"] == {"doubled": 10}


def test_ui_delete_ended_execution(tmp_path: Path, db_url: str) -> None:
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        workflow_id = create_workflow_through_api(ui, checked_design())
        paused_id = start_through_api(ui, workflow_id, {"n": -1}, pauseAtFailure=True)
        done_id = start_through_api(ui, workflow_id, {"n": 1})
        ui.page.goto(f"{ui.base}/executions/{paused_id}")
        ui.wait_for_status("PAUSED")
        paused_buttons = ui.page.locator("#delete-button").count()

        ui.page.goto(f"{ui.base}/executions/{done_id}")
        ui.wait_for_status("COMPLETED")
        ui.page.once("dialog", lambda dialog: dialog.accept())
        ui.page.click("#delete-button")
        ui.page.wait_for_url("**/ui/orgs/default/executions")
        listed = ui.page.locator("#execution-rows").inner_text()
        deleted_answer = ui.api.get(f"{ui.server.api}/workflowExecution/{done_id}")
        paused_answer = ui.api.get(f"{ui.server.api}/workflowExecution/{paused_id}")

    assert paused_buttons == 0
    assert done_id not in listed
    assert paused_id in listed
    assert deleted_answer.status_code == 404
    assert paused_answer.status_code == 200

def test_ui_abort_running_step(tmp_path: Path, db_url: str) -> None:
    design = {
        "name": "Busy",
        "version": "1",
        "schemaVersion": "3.0",
        "startStepId": "spin",
        "steps": {"spin": busy_js(60_000, nextStepId="after"), "after": {"type": "NOOP"}},
    }
    with ui_session(tmp_path, db_url, STEPLINE_JS_TIME_SECONDS="120") as ui:
        ui.sign_in()
        workflow_id = create_workflow_through_api(ui, design)
        ui.page.goto(f"{ui.base}/workflows/{workflow_id}/start")
        ui.page.click("#start-form button[type=submit]")
        ui.page.wait_for_url("**/executions/ex-*")
        running = ui.wait_for_graph(lambda states: states.get("spin") == "running")
        ui.screenshot("execution-running")
        ui.page.once("dialog", lambda dialog: dialog.accept())
        ui.page.click("#abort-button")
        ui.wait_for_status("ABORTED", timeout_ms=30_000)
        aborted = ui.wait_for_graph(lambda states: states.get("spin") == "aborted")
        abort_buttons = ui.page.locator("#abort-button").count()
        retry_buttons = ui.page.locator("#retry-button").count()
        ui.screenshot("execution-aborted")

    assert running == {"spin": "running", "after": "pending"}
    assert aborted == {"spin": "aborted", "after": "pending"}
    assert abort_buttons == 0
    assert retry_buttons == 1


def test_ui_execution_list_updates_and_filters(tmp_path: Path, db_url: str) -> None:
    with ui_session(tmp_path, db_url) as ui:
        ui.sign_in()
        workflow_id = create_workflow_through_api(ui, checked_design())
        failed_id = start_through_api(ui, workflow_id, {"n": -1})
        ui.page.goto(f"{ui.base}/executions")
        ui.page.wait_for_selector(f"tr[data-execution='{failed_id}'] [data-status=FAILED]")

        # Started elsewhere while the page is open: the list shows it without a reload.
        completed_id = start_through_api(ui, workflow_id, {"n": 2})
        completed_row = f"tr[data-execution='{completed_id}'] [data-status=COMPLETED]"
        ui.page.wait_for_selector(completed_row, timeout=15_000)
        ui.screenshot("executions")

        ui.page.check("#status-FAILED")
        ui.page.wait_for_selector(f"tr[data-execution='{completed_id}']", state="detached")
        listed_ids = ui.page.locator("tr[data-execution]").evaluate_all(
            "(rows) => rows.map((row) => row.dataset.execution)"
        )
        filtered_url = ui.page.url

    assert listed_ids == [failed_id]
    assert "status=FAILED" in filtered_url


def test_ui_narrow_window(tmp_path: Path, db_url: str) -> None:
    with ui_session(tmp_path, db_url, viewport={"width": 390, "height": 844}) as ui:
        ui.sign_in()
        workflow_id = create_workflow_through_api(ui, checked_design())
        execution_id = start_through_api(ui, workflow_id, {"n": -1}, pauseAtFailure=True)
        ui.page.goto(f"{ui.base}/executions/{execution_id}")
        ui.wait_for_status("PAUSED")
        overflow = ui.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        ui.screenshot("execution-narrow")
        ui.page.goto(f"{ui.base}/executions")
        list_overflow = ui.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")

    assert overflow <= 0
    assert list_overflow <= 0
