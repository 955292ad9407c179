"""Measure the server's memory while a large file is uploaded through the multipart create.

Starts a real `stepline serve` (SQLite, data directory in a temporary folder, free loopback
port), stores a one-step NOOP design with a `file` input, and uploads one file of `--size`
bytes through `POST .../workflowExecution` (parts `workflowExecution` and `files`). The
body is generated while it is sent, so the file is never in the client's memory.

The RSS of the server process and its children is sampled every `--interval` seconds
before and during the upload. The script prints baseline, peak and growth, the upload time
and rate, checks the stored blob (size on disk, and size and SHA-256 through the download
endpoint), and exits with 1 when the growth reaches `--max-growth-mib` or a check fails.

    python bench/upload_rss.py                 # 1 GiB
    python bench/upload_rss.py --size 64MiB    # a quick try
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from harness import (
    GIB,
    MIB,
    BenchError,
    RssSampler,
    Server,
    create_workflow,
    exit_on_sigterm,
    filesystem_of,
    machine_facts,
    parse_size,
    peak_rss_of,
    print_facts,
    spread,
    sqlite_version,
)

BLOCK_BYTES = MIB
WARMUP_BYTES = MIB
FILE_NAME = "payload.bin"
ENDED = {"COMPLETED", "FAILED", "ABORTED"}
PROBE_SECONDS = 0.1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", default="1GiB", help="size of the uploaded file: bytes, or with KiB/MiB/GiB (default 1GiB)"
    )
    parser.add_argument(
        "--max-growth-mib",
        type=float,
        default=100.0,
        help="exit with 1 when the peak RSS growth during the upload reaches this many MiB (default 100)",
    )
    parser.add_argument(
        "--interval", type=float, default=0.05, help="seconds between RSS samples (default 0.05)"
    )
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        default=1.0,
        help="seconds of RSS sampling before the upload starts (default 1)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds allowed for the upload request (default 600)"
    )
    parser.add_argument(
        "--tmp-dir",
        type=Path,
        default=None,
        help="parent folder of the temporary data directory (default: the system temp folder)",
    )
    args = parser.parse_args(argv)
    try:
        args.size_bytes = parse_size(args.size)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def upload_design() -> dict[str, Any]:
    """Return a design with one required `file` input and one NOOP step."""
    return {
        "name": "bench upload",
        "version": "1",
        "schemaVersion": "3.0",
        "description": "Takes one file and does nothing with it; used by bench/upload_rss.py",
        "inputs": {"payload": {"type": "file", "required": True, "description": "The uploaded file"}},
        "startStepId": "done",
        "steps": {"done": {"type": "NOOP"}},
    }


def multipart_body(request: dict[str, Any], size: int, block: bytes) -> tuple[str, int, Iterator[bytes]]:
    """Return the content type, the length and a generator of a two-part multipart body.

    The file part repeats `block` until `size` bytes are sent, so memory use does not grow
    with `size`. The boundary ends in 32 random hex digits, so random file data is very
    unlikely to contain it.
    """
    boundary = f"stepline-bench-{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="workflowExecution"\r\n'
        "Content-Type: application/json\r\n\r\n"
        f"{json.dumps(request)}\r\n"
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="{FILE_NAME}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield head
        remaining = size
        while remaining > 0:
            count = min(remaining, len(block))
            yield block if count == len(block) else block[:count]
            remaining -= count
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + size + len(tail), chunks()


def expected_sha256(size: int, block: bytes) -> str:
    digest = hashlib.sha256()
    remaining = size
    while remaining > 0:
        count = min(remaining, len(block))
        digest.update(block if count == len(block) else block[:count])
        remaining -= count
    return digest.hexdigest()


def upload(client: httpx.Client, server: Server, workflow_id: str, size: int, block: bytes) -> dict[str, Any]:
    request = {"workflowId": workflow_id, "contextType": "NONE", "assignments": {"payload": FILE_NAME}}
    content_type, length, body = multipart_body(request, size, block)
    # With Content-Length set, httpx sends the generator's chunks without chunked encoding.
    headers = {**server.headers, "Content-Type": content_type, "Content-Length": str(length)}
    response = client.post(server.api("/workflowExecution"), content=body, headers=headers)
    if response.status_code != 200:
        raise BenchError(f"upload of {size} bytes failed: HTTP {response.status_code} {response.text[:2000]}")
    execution: dict[str, Any] = response.json()
    return execution


def wait_until_ended(client: httpx.Client, server: Server, execution_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(server.api(f"/workflowExecution/{execution_id}"), headers=server.headers)
        status: str = response.json().get("status", "")
        if status in ENDED:
            return status
        time.sleep(0.2)
    raise BenchError(f"execution {execution_id} did not end within {timeout:g} s")


def blob_files(blob_dir: Path) -> dict[Path, int]:
    if not blob_dir.exists():
        return {}
    return {path: path.stat().st_size for path in blob_dir.rglob("*") if path.is_file()}


def download(client: httpx.Client, server: Server, execution_id: str) -> tuple[int, str, float]:
    """Download the attachment and return its byte count, SHA-256 and the seconds it took."""
    digest = hashlib.sha256()
    count = 0
    started = time.monotonic()
    url = server.api(f"/workflowExecution/{execution_id}/attachment/{FILE_NAME}")
    with client.stream("GET", url, headers=server.headers) as response:
        if response.status_code != 200:
            raise BenchError(f"download failed: HTTP {response.status_code} {response.read()[:2000]!r}")
        for chunk in response.iter_bytes(BLOCK_BYTES):
            digest.update(chunk)
            count += len(chunk)
    return count, digest.hexdigest(), time.monotonic() - started


class HealthProbe:
    """Latency probe: times `GET /healthz` every `interval` seconds in a thread.

    The server's event loop serves this request, so a slow response during the upload means
    the upload kept the loop busy.
    """

    def __init__(self, server: Server, interval: float) -> None:
        self._url = f"{server.base_url}/healthz"
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-probe", daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.errors = 0

    def _run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    client.get(self._url).raise_for_status()
                    self.samples.append((started, time.monotonic() - started))
                except httpx.HTTPError:
                    self.errors += 1
                self._stop.wait(self._interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=70)

    def latencies_between(self, start: float, end: float) -> list[float]:
        """Return the latencies in ms of the probes sent between two `time.monotonic()` readings."""
        return [1000 * latency for sent, latency in list(self.samples) if start <= sent <= end]


def mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def run(args: argparse.Namespace, work_dir: Path) -> list[str]:
    """Run the benchmark in `work_dir` and return the failed checks (empty when all pass)."""
    size: int = args.size_bytes
    # Both limits are well above the file size, so the upload cannot end in a 413.
    limit = str(max(2 * GIB, 2 * size + MIB))
    data_dir = work_dir / "data"
    failures: list[str] = []

    facts = machine_facts()
    facts["database"] = sqlite_version()
    facts["data dir"] = f"{data_dir} on {filesystem_of(work_dir)}"
    print("machine:")
    print_facts(facts)

    block = os.urandom(BLOCK_BYTES)
    expected = expected_sha256(size, block)
    server = Server(
        data_dir,
        work_dir / "serve.log",
        settings={"max_file_bytes": limit, "max_request_bytes": limit},
    )
    try:
        server.wait_ready()
        timeout = httpx.Timeout(args.timeout, connect=10.0)
        with httpx.Client(timeout=timeout) as client:
            workflow_id = create_workflow(client, server, upload_design())

            # A small upload first, so one-time imports and caches are not counted as growth.
            warmup = upload(client, server, workflow_id, WARMUP_BYTES, block)
            wait_until_ended(client, server, warmup["id"], 60)
            blobs_before = blob_files(data_dir / "blobs")

            sampler = RssSampler(server.process, interval=args.interval)
            sampler.start()
            probe = HealthProbe(server, PROBE_SECONDS)
            probe.start()
            try:
                baseline_start = time.monotonic()
                time.sleep(args.baseline_seconds)
                high_water_before = peak_rss_of(server.process.popen.pid)
                upload_start = time.monotonic()
                execution = upload(client, server, workflow_id, size, block)
                upload_end = time.monotonic()
                high_water_after = peak_rss_of(server.process.popen.pid)
                status = wait_until_ended(client, server, execution["id"], 60)
                download_start = time.monotonic()
                downloaded, downloaded_sha, download_seconds = download(client, server, execution["id"])
                download_end = time.monotonic()
            finally:
                sampler.stop()
                probe.stop()
    finally:
        server.stop()

    baseline_samples = sampler.between(baseline_start, upload_start)
    upload_samples = sampler.between(upload_start, upload_end)
    download_samples = sampler.between(download_start, download_end)
    if not baseline_samples or not upload_samples:
        raise BenchError("no RSS samples were taken; lower --interval or raise --baseline-seconds")
    baseline = statistics.median(baseline_samples)
    peak = max(upload_samples)
    growth = peak - baseline
    upload_seconds = upload_end - upload_start

    new_blobs = {
        path: blob_size
        for path, blob_size in blob_files(data_dir / "blobs").items()
        if path not in blobs_before
    }

    print(f"\nupload of {size} bytes ({mib(size)}) in one 'files' part, {len(upload_samples)} RSS samples:")
    print(
        f"  baseline RSS      {mib(baseline)} (median of {len(baseline_samples)} samples before the upload,"
        f" range {mib(min(baseline_samples))}..{mib(max(baseline_samples))})"
    )
    print(f"  peak RSS          {mib(peak)} (server process and children, sampled every {args.interval:g} s)")
    print(f"  peak growth       {mib(growth)} (limit {args.max_growth_mib:g} MiB)")
    print(
        f"  kernel VmHWM      {mib(high_water_before)} before, {mib(high_water_after)} after"
        " (server process only, includes start-up)"
    )
    print(f"  upload time       {upload_seconds:.2f} s")
    rate = f"{size / 1e6 / upload_seconds:.1f} MB/s ({size / MIB / upload_seconds:.1f} MiB/s)"
    print(f"  upload rate       {rate}")
    probes = probe.latencies_between(upload_start, upload_end)
    print(
        f"  /healthz latency  {spread(probes)} ms during the upload ({len(probes)} probes, "
        f"{probe.errors} failed)"
    )
    print(f"  execution status  {status}")
    print(
        f"  download          {downloaded} bytes in {download_seconds:.2f} s "
        f"({downloaded / 1e6 / download_seconds:.1f} MB/s), peak RSS during it "
        f"{mib(max(download_samples, default=0))}"
    )
    print(
        f"  client peak RSS   {mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}"
        " (this script, which never holds the file)"
    )

    if growth >= args.max_growth_mib * MIB:
        failures.append(f"peak RSS growth {mib(growth)} reached the limit of {args.max_growth_mib:g} MiB")
    if status != "COMPLETED":
        failures.append(f"the execution ended {status}, not COMPLETED")
    if list(new_blobs.values()) != [size]:
        found = sorted(new_blobs.values())
        failures.append(f"expected one new blob of {size} bytes on disk, found sizes {found}")
    else:
        print(f"  stored blob       {size} bytes on disk ({next(iter(new_blobs)).name})")
    if downloaded != size:
        failures.append(f"the download returned {downloaded} bytes, expected {size}")
    if downloaded_sha != expected:
        failures.append(f"the downloaded SHA-256 {downloaded_sha} differs from the uploaded {expected}")
    return failures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    exit_on_sigterm()
    work_dir = Path(tempfile.mkdtemp(prefix="stepline-bench-upload-", dir=args.tmp_dir))
    try:
        failures = run(args, work_dir)
    except BenchError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if failures:
        for failure in failures:
            print(f"FAILED: {failure}")
        return 1
    print("PASSED: every check held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
