"""A real `stepline serve` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

TOKEN = "e2e-admin-token-0123456789"
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Server:
    url: str
    token: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def api(self) -> str:
        return f"{self.url}/tca/workflows/api/v1/orgs/default"

    def client(self) -> httpx.Client:
        return httpx.Client(headers={"Authorization": f"Bearer {self.token}"}, timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def run_serve(data_dir: Path, database_url: str | None = None, **env: str) -> Iterator[Server]:
    """Start `stepline serve`, wait until /readyz responds, and stop it at the end."""
    port = free_port()
    environment = {**os.environ, "STEPLINE_BOOTSTRAP_TOKEN": TOKEN, **env}
    if database_url:
        environment["STEPLINE_DATABASE_URL"] = database_url
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stepline.cli.main",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"stepline serve did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield Server(url, TOKEN, data_dir, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_ended(client: httpx.Client, api: str, execution_id: str, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, object] = client.get(f"{api}/workflowExecution/{execution_id}").json()
        if body["status"] in ("COMPLETED", "FAILED", "ABORTED"):
            return body
        assert time.monotonic() < deadline, f"execution still {body['status']}: {body}"
        time.sleep(0.1)
