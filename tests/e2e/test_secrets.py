"""A password echoed by a step never appears in clear: responses, logs, server log, database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from tests.e2e.serve import run_serve, wait_ended
from tests.sshd_server import run_sshd

SECRET = "Tr0ub4dor-3-unique-7f3a"


def echo_design(sshd_host: str, sshd_port: int, user: str, host_key: str) -> dict[str, object]:
    return {
        "name": "echo secret",
        "version": "1",
        "schemaVersion": "3.0",
        "startStepId": "echo",
        "inputs": {
            "secretValue": {"type": "password", "required": True},
            "key": {"type": "password", "required": True},
        },
        "variables": {"echoed": {"type": "string"}},
        "outputs": {"echoed": {"type": "string"}},
        "steps": {
            "echo": {
                "type": "TCA_SSH",
                "inBindings": {
                    "host": {"type": "string", "defaultValue": sshd_host},
                    "port": {"type": "integer", "defaultValue": sshd_port},
                    "username": {"type": "string", "defaultValue": user},
                    "privateKey": {"type": "password", "exportName": "key"},
                    "hostKey": {"type": "string", "defaultValue": host_key},
                    "script": {
                        "type": "string",
                        "defaultValue": "echo the password is {{ secretValue }}; echo {{ secretValue }} >&2",
                    },
                },
                "outBindings": {"echoed": {"name": "output", "type": "string"}},
            }
        },
    }


async def pg_rows_containing(url: str, text: str) -> list[str]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        hits = []
        for table in (
            "tenants",
            "api_tokens",
            "workflows",
            "executions",
            "step_executions",
            "log_entries",
            "attachments",
        ):
            count = await conn.fetchval(f"SELECT count(*) FROM {table} t WHERE t::text LIKE $1", f"%{text}%")
            if count:
                hits.append(table)
        return hits
    finally:
        await conn.close()


def test_echoed_password_is_masked_everywhere(tmp_path: Path, db_url: str) -> None:
    with run_sshd() as sshd, run_serve(tmp_path / "data", db_url) as server, server.client() as http:
        design = echo_design(sshd.host, sshd.port, sshd.username, sshd.host_key)
        workflow = http.put(f"{server.api}/workflow", json=design).json()
        request = {
            "workflowId": workflow["id"],
            "contextType": "NONE",
            "assignments": {"secretValue": SECRET, "key": sshd.private_key},
        }
        files = [("workflowExecution", (None, json.dumps(request), "application/json"))]
        created = http.post(f"{server.api}/workflowExecution", files=files)
        assert created.status_code == 200, created.text
        final = wait_ended(http, server.api, created.json()["id"])
        url = f"{server.api}/workflowExecution/{created.json()['id']}"
        texts = {
            "create response": created.text,
            "execution": http.get(url).text,
            "list": http.get(f"{server.api}/workflowExecution").text,
            "logs ndjson": http.get(f"{url}/logs").text,
            "logs text": http.get(f"{url}/logs", params={"format": "text"}).text,
            "logs follow": http.get(f"{url}/logs", params={"follow": "true"}).text,
        }
    texts["server log"] = server.log_path.read_text(errors="replace")

    assert final["status"] == "COMPLETED", json.dumps(final["stepExecutions"])[:1500]
    step = final["stepExecutions"][0]
    # Root logins run on a terminal, which merges stderr into the output.
    assert step["outputs"]["output"] == "the password is ******\n******\n"
    assert step["inputs"]["script"] == "echo the password is ******; echo ****** >&2"
    assert final["variables"]["echoed"] == step["outputs"]["output"]
    assert final["assignments"]["secretValue"] == "******"
    assert "the password is ******" in texts["logs text"]
    for where, text in texts.items():
        assert SECRET not in text, f"the password appears in the {where}"
    if db_url.startswith("sqlite"):
        database = Path(make_url(db_url).database or "")
        for path in database.parent.glob(database.name + "*"):
            assert SECRET.encode() not in path.read_bytes(), f"the password appears in {path.name}"
    else:
        assert asyncio.run(pg_rows_containing(db_url, SECRET)) == []
