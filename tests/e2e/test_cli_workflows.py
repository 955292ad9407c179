"""`stepline workflows` as a subprocess against a real `stepline serve`, and the usage exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_helpers import Cli, checked_design, closed_port, legacy_design, make_cli, write_json
from tests.e2e.serve import Server, run_serve
from tests.helpers import EXAMPLES, load_example

INVENTORY = EXAMPLES / "inventory-report" / "design.json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[Server]:
    with run_serve(tmp_path_factory.mktemp("serve") / "data", module_db_url) as running:
        yield running


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    return make_cli(server, tmp_path)


def create(cli: Cli, design: Path, *args: str) -> dict[str, object]:
    result = cli.run("workflows", "create", str(design), "--json", *args)
    assert result.code == 0, result
    workflow: dict[str, object] = result.json()
    return workflow


def test_create_list_get(cli: Cli) -> None:
    result = cli.run("workflows", "create", str(INVENTORY))
    assert result.code == 0, result
    assert result.stdout.startswith("created workflow wf-")
    assert "(Inventory report 1.0)" in result.stdout
    workflow_id = result.stdout.split()[2]

    listed = cli.run("workflows", "list", "--json")
    assert listed.code == 0, listed
    items = {item["id"]: item for item in listed.json()["items"]}
    assert items[workflow_id]["name"] == "Inventory report"

    table = cli.run("workflows", "list")
    assert table.code == 0, table
    row = next(line for line in table.stdout.splitlines() if workflow_id in line)
    assert "Inventory report" in row
    assert "example" in row

    got = cli.run("workflows", "get", workflow_id, "--json")
    assert got.code == 0, got
    assert got.json()["id"] == workflow_id
    assert set(got.json()["steps"]) == {"countDevices", "chooseReport", "largeSite", "smallSite"}

    details = cli.run("workflows", "get", workflow_id)
    assert details.code == 0, details
    assert "Steps (start: countDevices)" in details.stdout
    assert "if deviceCount greater 3: largeSite; else smallSite" in details.stdout
    assert "CSV with a header line and one device per line" in details.stdout


def test_list_filters_and_pages(cli: Cli, tmp_path: Path) -> None:
    first = checked_design("paged-a")
    first["tags"] = [{"name": "paging", "autoCreated": False}]
    second = {**first, "name": "paged-b"}
    first_id = create(cli, write_json(tmp_path / "a.json", first))["id"]
    second_id = create(cli, write_json(tmp_path / "b.json", second))["id"]

    by_name = cli.run("workflows", "list", "--name", "paged-a", "--json")
    assert [item["id"] for item in by_name.json()["items"]] == [first_id]

    page = cli.run("workflows", "list", "--tag", "paging", "--limit", "1", "--json")
    assert [item["id"] for item in page.json()["items"]] == [second_id]
    cursor = page.json()["nextCursor"]

    next_page = cli.run("workflows", "list", "--tag", "paging", "--limit", "1", "--cursor", cursor, "--json")
    assert [item["id"] for item in next_page.json()["items"]] == [first_id]

    every = cli.run("workflows", "list", "--tag", "paging", "--all", "--json")
    assert [item["id"] for item in every.json()["items"]] == [second_id, first_id]

    table = cli.run("workflows", "list", "--tag", "paging", "--limit", "1")
    assert second_id in table.stdout
    assert first_id not in table.stdout
    assert f"--cursor {cursor}" in table.stderr


def test_update_then_delete(cli: Cli, tmp_path: Path) -> None:
    design = checked_design("updated")
    workflow_id = str(create(cli, write_json(tmp_path / "v1.json", design))["id"])
    changed = write_json(tmp_path / "v2.json", {**design, "version": "2", "description": "second version"})

    updated = cli.run("workflows", "update", workflow_id, str(changed))
    assert updated.code == 0, updated
    assert updated.stdout.strip() == f"updated workflow {workflow_id} (updated 2)"
    got = cli.run("workflows", "get", workflow_id, "--json").json()
    assert got["version"] == "2"
    assert got["description"] == "second version"

    deleted = cli.run("workflows", "delete", workflow_id)
    assert deleted.code == 0, deleted
    assert deleted.stdout.strip() == f"deleted workflow {workflow_id}"

    missing = cli.run("workflows", "get", workflow_id)
    assert missing.code == 2, missing
    assert f"workflow '{workflow_id}' not found in tenant 'default'" in missing.stderr
    assert "WORKFLOW_NOT_FOUND" in missing.stderr
    assert "HTTP 404" in missing.stderr


def test_create_with_files_shows_progress(cli: Cli, server: Server, tmp_path: Path) -> None:
    large = tmp_path / "firmware.bin"
    content = bytes(range(256)) * (3 * 4096)  # 3 MiB, above the progress bar threshold
    large.write_bytes(content)
    small = tmp_path / "notes.txt"
    small.write_text("hello\n")
    design = write_json(tmp_path / "design.json", checked_design("with files"))

    result = cli.run("workflows", "create", str(design), "--file", str(large), "-f", str(small), "--json")

    assert result.code == 0, result
    assert "uploading firmware.bin" in result.stderr
    assert "3.1/3.1 MB" in result.stderr
    workflow = result.json()
    assert set(workflow["attachments"]) == {"firmware.bin", "notes.txt"}
    with server.client() as http:
        download = http.get(f"{server.api}/workflow/{workflow['id']}/attachment/firmware.bin")
    assert download.status_code == 200
    assert download.content == content


def test_create_missing_file_is_usage_error(cli: Cli, tmp_path: Path) -> None:
    design = write_json(tmp_path / "design.json", checked_design())

    result = cli.run("workflows", "create", str(design), "--file", str(tmp_path / "absent.bin"))

    assert result.code == 2, result
    assert "no such file" in result.stderr


def test_create_invalid_design_prints_server_errors(cli: Cli, tmp_path: Path) -> None:
    design = checked_design("broken")
    design["steps"]["s0"]["nextStepId"] = "nowhere"
    design["steps"]["s2"]["type"] = "TELEPORT"

    result = cli.run("workflows", "create", str(write_json(tmp_path / "broken.json", design)))

    assert result.code == 2, result
    assert "HTTP 400" in result.stderr
    assert "/steps/s0/nextStepId: nextStepId 'nowhere' names no step" in result.stderr
    assert "/steps/s2/type: unknown step type 'TELEPORT'" in result.stderr


def test_validate_valid_design(cli: Cli) -> None:
    result = cli.run("workflows", "validate", str(INVENTORY))

    assert result.code == 0, result
    assert result.stdout.strip() == f"{INVENTORY} is valid: Inventory report 1.0, 4 steps"

    as_json = cli.run("workflows", "validate", str(INVENTORY), "--json")
    assert as_json.code == 0, as_json
    assert as_json.json() == {"valid": True, "errors": []}


def test_validate_invalid_design(cli: Cli, tmp_path: Path) -> None:
    design = load_example("inventory-report")
    design["startStepId"] = "missing"
    design["steps"]["chooseReport"]["conditions"][0]["nextStepId"] = "gone"
    path = write_json(tmp_path / "invalid.json", design)

    result = cli.run("workflows", "validate", str(path))

    assert result.code == 2, result
    assert "/startStepId: startStepId 'missing' names no step" in result.stdout
    assert "/steps/chooseReport/conditions/0/nextStepId" in result.stdout
    assert f"{path} is not a valid design: 2 problem(s)" in result.stderr

    as_json = cli.run("workflows", "validate", str(path), "--json")
    assert as_json.code == 2, as_json
    report = as_json.json()
    assert report["valid"] is False
    assert [error["pointer"] for error in report["errors"]] == [
        "/startStepId",
        "/steps/chooseReport/conditions/0/nextStepId",
    ]
    assert {error["code"] for error in report["errors"]} == {"VALIDATION_FAILED"}


def test_validate_needs_no_server(tmp_path: Path) -> None:
    offline = Cli(
        config_path=tmp_path / "config.toml",
        cwd=tmp_path,
        env={"STEPLINE_SERVER": f"http://127.0.0.1:{closed_port()}", "STEPLINE_TOKEN": "unused"},
    )
    path = write_json(tmp_path / "legacy.json", legacy_design())

    result = offline.run("workflows", "validate", str(path))

    assert result.code == 0, result
    assert "valid: legacy 1, 3 steps (schemaVersion 1.0, converted to 3.0)" in result.stdout


def test_validate_unreadable_design(cli: Cli, tmp_path: Path) -> None:
    not_json = tmp_path / "design.json"
    not_json.write_text("{ not json")

    result = cli.run("workflows", "validate", str(not_json))

    assert result.code == 2, result
    assert "not UTF-8 JSON" in result.stderr


def test_convert_legacy_design(cli: Cli, tmp_path: Path) -> None:
    path = write_json(tmp_path / "legacy.json", legacy_design())

    result = cli.run("workflows", "convert", str(path))

    assert result.code == 0, result
    converted = result.json()
    assert converted["schemaVersion"] == "3.0"
    assert converted["startStepId"] == "a"
    assert set(converted["steps"]) == {"a", "b", "END"}
    assert converted["steps"]["a"]["nextStepId"] == "b"
    assert converted["steps"]["a"]["conditions"][0]["nextStepId"] == "END"
    assert "nextStepId" not in converted["steps"]["b"]

    output = tmp_path / "converted.json"
    written = cli.run("workflows", "convert", str(path), "-o", str(output))
    assert written.code == 0, written
    assert written.stdout == ""
    assert json.loads(output.read_text()) == converted


def test_convert_rejects_current_design(cli: Cli) -> None:
    result = cli.run("workflows", "convert", str(INVENTORY))

    assert result.code == 2, result
    assert "has schemaVersion '3.0'; only schemaVersion \"1.0\" designs are converted" in result.stderr


def test_convert_reports_broken_result(cli: Cli, tmp_path: Path) -> None:
    design = legacy_design()
    design["steps"][1]["type"] = "TELEPORT"

    result = cli.run("workflows", "convert", str(write_json(tmp_path / "legacy.json", design)))

    assert result.code == 2, result
    assert result.json()["steps"]["b"]["type"] == "TELEPORT"
    assert "/steps/b/type: unknown step type 'TELEPORT'" in result.stderr


def test_bad_options_are_usage_errors(cli: Cli) -> None:
    not_a_number = cli.run("workflows", "list", "--limit", "many")
    assert not_a_number.code == 2, not_a_number
    assert "Invalid value for '--limit'" in not_a_number.stderr

    unknown = cli.run("workflows", "list", "--colour")
    assert unknown.code == 2, unknown
    assert "No such option: --colour" in unknown.stderr

    rejected_by_server = cli.run("workflows", "list", "--limit", "0")
    assert rejected_by_server.code == 2, rejected_by_server
    assert "HTTP 400" in rejected_by_server.stderr


def test_unreachable_server_exit_3(cli: Cli) -> None:
    url = f"http://127.0.0.1:{closed_port()}"

    result = cli.run("workflows", "list", STEPLINE_SERVER=url)

    assert result.code == 3, result
    assert f"server {url} unreachable" in result.stderr


def test_invalid_server_url_is_usage_error(cli: Cli) -> None:
    result = cli.run("--server", "ftp://127.0.0.1:21", "workflows", "list")

    assert result.code == 2, result
    assert "invalid server URL 'ftp://127.0.0.1:21'" in result.stderr


def test_rejected_token_is_usage_error(cli: Cli) -> None:
    result = cli.run("--token", "not-a-token", "workflows", "list")

    assert result.code == 2, result
    assert "the server rejected the API token (HTTP 401" in result.stderr


def test_unknown_tenant_is_usage_error(cli: Cli) -> None:
    result = cli.run("--tenant", "nobody", "workflows", "list")

    assert result.code == 2, result
    assert "tenant 'nobody' not found" in result.stderr


def test_dot_id_stays_in_path(cli: Cli) -> None:
    result = cli.run("workflows", "get", "..")

    assert result.code == 2, result
    assert "workflow '..' not found in tenant 'default'" in result.stderr
