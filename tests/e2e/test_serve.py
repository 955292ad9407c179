"""End-to-end: a real `stepline serve` process, real HTTP clients, a real OpenSSH server."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import psutil
from sqlalchemy import insert, select

from stepline.store.tables import executions, log_entries
from tests.e2e.serve import run_serve, wait_ended
from tests.helpers import EXAMPLES, load_example, noop_chain
from tests.sshd_server import run_sshd

REPO = Path(__file__).resolve().parents[2]


def test_scp_ssh_example(tmp_path: Path, db_url: str) -> None:
    config = (EXAMPLES / "scp-ssh" / "router.cfg").read_bytes()
    script = (EXAMPLES / "scp-ssh" / "apply.sh").read_bytes()
    destination = Path("/tmp/stepline-example.cfg")
    destination.unlink(missing_ok=True)
    with run_sshd() as sshd, run_serve(tmp_path / "data", db_url) as server, server.client() as http:
        workflow = http.put(f"{server.api}/workflow", json=load_example("scp-ssh")).json()
        request = {
            "workflowId": workflow["id"],
            "contextType": "NONE",
            "assignments": {
                "host": sshd.host,
                "port": sshd.port,
                "username": sshd.username,
                "privateKey": sshd.private_key,
                "hostKey": sshd.host_key,
                "config": "router.cfg",
                "applyScript": "apply.sh",
            },
        }
        files = [
            ("workflowExecution", (None, json.dumps(request), "application/json")),
            ("files", ("router.cfg", config, "application/octet-stream")),
            ("files", ("apply.sh", script, "text/x-shellscript")),
        ]
        created = http.post(f"{server.api}/workflowExecution", files=files)
        assert created.status_code == 200, created.text
        final = wait_ended(http, server.api, created.json()["id"])
        logs = http.get(
            f"{server.api}/workflowExecution/{created.json()['id']}/logs", params={"format": "text"}
        ).text
        server_log = server.log_path.read_text(errors="replace")

    assert final["status"] == "COMPLETED", final
    assert destination.read_bytes() == config
    copy, apply = final["stepExecutions"]
    assert copy["outputs"] == {"bytes": len(config), "destination": str(destination)}
    assert apply["outputs"]["exitCode"] == 0
    assert "applying 4 lines from /tmp/stepline-example.cfg" in apply["outputs"]["output"]
    assert "changed hostname" in apply["outputs"]["output"]
    assert "changed hostname" in [entry["msg"] for entry in apply["logs"]]
    assert "[step 1] changed hostname" in logs
    assert final["outputs"] == {"applyOutput": apply["outputs"]["output"], "copiedBytes": len(config)}
    assert final["assignments"]["privateKey"] == "******"
    assert copy["inputs"]["privateKey"] == "******"
    key_body = sshd.private_key.splitlines()[1]
    assert key_body not in json.dumps(final)
    assert key_body not in logs
    assert key_body not in server_log


def readme_block() -> str:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return next(block for block in blocks if "curl" in block)


def test_readme_curl_example(tmp_path: Path) -> None:
    with run_serve(tmp_path / "stepline-data") as server:
        token_file = tmp_path / "stepline-data" / "admin-token"
        token_file.write_text(server.token + "\n")
        script = (
            readme_block()
            .replace("http://127.0.0.1:8080", server.url)
            .replace("stepline-data/admin-token", str(token_file))
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
        )

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "COMPLETED"
    assert body["outputs"] == {"summary": "Site north: 5 devices, large site", "deviceCount": 5}


def fill_log(database_url: str, execution_id: str, total_bytes: int) -> int:
    """Insert `total_bytes` of log lines for the execution directly; return the line count."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from stepline.store.db import normalize_url

    line = "x" * 1000
    per_batch = 5000
    batches = total_bytes // (len(line) * per_batch)

    async def run() -> None:
        engine = create_async_engine(normalize_url(database_url))
        async with engine.begin() as conn:
            row = (
                await conn.execute(select(executions.c.tenant_id).where(executions.c.id == execution_id))
            ).one()
            for batch in range(batches):
                rows = [
                    {
                        "tenant_id": row[0],
                        "execution_id": execution_id,
                        "step_seq": 0,
                        "time": 0,
                        "level": "INFO",
                        "msg": f"{batch:05d}-{index:05d} {line}",
                    }
                    for index in range(per_batch)
                ]
                await conn.execute(insert(log_entries), rows)
        await engine.dispose()

    asyncio.run(run())
    return batches * per_batch


def test_large_log_streams_with_bounded_memory(tmp_path: Path, db_url: str) -> None:
    with run_serve(tmp_path / "data", db_url) as server, server.client() as http:
        workflow = http.put(f"{server.api}/workflow", json=noop_chain(1)).json()
        created = http.put(
            f"{server.api}/workflowExecution", json={"workflowId": workflow["id"], "contextType": "NONE"}
        ).json()
        wait_ended(http, server.api, created["id"])
        lines = fill_log(db_url, created["id"], 200 * 1024 * 1024)
        process = psutil.Process(server.process.pid)
        baseline = process.memory_info().rss
        peak = baseline
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, process.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        received = 0
        count = 0
        try:
            with http.stream("GET", f"{server.api}/workflowExecution/{created['id']}/logs") as response:
                assert response.status_code == 200
                for text in response.iter_lines():
                    received += len(text)
                    count += 1
        finally:
            stop.set()
            sampler.join()

    growth_mib = (peak - baseline) / 1024**2
    print(
        f"\nlogs endpoint: {count} lines, {received / 1024**2:.0f} MiB streamed, "
        f"server RSS growth {growth_mib:.1f} MiB"
    )
    assert count == lines + 2
    assert received > 200 * 1024 * 1024
    assert growth_mib < 64
