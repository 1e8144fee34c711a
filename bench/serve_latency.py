"""serve_latency: `rayscore serve` answering one sample with a 20-item checklist per request.

Latency percentiles at 1 and at 8 concurrent clients (each client sends its next request when
the last one is answered), every request a sample no earlier request had. Throughput under load is
judgments/s at 8 clients (and at `--load-clients`), set against the batch job's judge stage
on the same machine in steady state (bench.judge_efficiency.rayscore_steady: two real
`rayscore run`s, fixed cost cancelled). The server is a real `rayscore serve` process: its own
local Ray, Ray Serve on 127.0.0.1 and the engine.

Targets on the small local judge: p50 <= 100 ms at one client; throughput under load >= 0.7 of
the batch job's.

    .venv/bin/python -m bench.serve_latency [--requests 200] [--batch-samples 200]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import yaml

from bench.judge_efficiency import rayscore_steady
from bench.ports import free_port
from bench.result import print_result
from bench.workload import ROOT, questions, spec, write_rows

P50_TARGET_MS = 100.0
THROUGHPUT_TARGET = 0.7
ITEMS = len(questions())
START_TIMEOUT_S = 300
WARM_UP = 8
SERVE = (sys.executable, "-m", "jobs.cli", "serve")


class ServeProcess:
    """`rayscore serve SPEC` in its own session, stopped with SIGTERM as a user would."""

    def __init__(self, spec_file: Path, log: Path, options: tuple[str, ...] = ()) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*SERVE, str(spec_file), "--port", str(port), *options],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_s = self._wait_until_up()

    def _wait_until_up(self) -> float:
        began = time.perf_counter()
        while time.perf_counter() - began < START_TIMEOUT_S:
            if self.process.poll() is not None:
                raise SystemExit(f"rayscore serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=5).close()
                return time.perf_counter() - began
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise SystemExit(f"rayscore serve did not answer:\n{self.log.read_text()[-3000:]}")

    def score(self, row: dict[str, Any]) -> float:
        """Seconds from sending one row to its scores."""
        body = json.dumps({"rows": [row]}).encode()
        request = urllib.request.Request(
            f"{self.url}/score", data=body, headers={"Content-Type": "application/json"}
        )
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read())
        seconds = time.perf_counter() - began
        if answer["rows"][0]["error"] is not None:
            raise SystemExit(f"a served row failed: {answer['rows'][0]['error']}")
        return seconds

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/healthz", timeout=30) as response:
            counts: dict[str, int] = json.loads(response.read())["judges"]["judge"]
            return counts

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=120)


def under_load(server: ServeProcess, rows: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    """Every row once, from `clients` clients at a time: latency percentiles (ms), judgments/s,
    and how many requests shared an engine batch."""
    before = server.stats()
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = np.array(list(pool.map(server.score, rows))) * 1000
    wall = time.perf_counter() - began
    after = server.stats()
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    batches = after["batches"] - before["batches"]
    return {
        "clients": clients,
        "requests": len(rows),
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
        "judgments_per_s": round(len(rows) * ITEMS / wall, 1),
        "requests_per_engine_batch": round(len(rows) / max(batches, 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="requests per load level")
    parser.add_argument("--batch-samples", type=int, default=200, help="the batch job's size")
    parser.add_argument("--load-clients", type=int, default=32, help="a heavier load level")
    parser.add_argument("--batch-wait-ms", default="2", help="passed to rayscore serve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        batch = rayscore_steady(work, "batch", args.batch_samples, 64, {})
        levels_clients = (1, 8, args.load_clients)
        # every request a sample no earlier request had: no level finds another's prefixes
        data = write_rows(
            work / "served.parquet", len(levels_clients) * args.requests + WARM_UP, seed=1
        )
        rows = pq.read_table(data).select(["prompt", "response"]).to_pylist()
        spec_file = work / "serve.yaml"
        spec_file.write_text(yaml.safe_dump(spec(data, work / "unused")))
        server = ServeProcess(
            spec_file, work / "serve.log", ("--batch-wait-ms", args.batch_wait_ms)
        )
        try:
            for row in rows[:WARM_UP]:  # first calls of the engine and the HTTP path
                server.score(row)
            levels = []
            for n, clients in enumerate(levels_clients):
                start = WARM_UP + n * args.requests
                levels.append(under_load(server, rows[start : start + args.requests], clients))
        finally:
            server.stop()
    one, eight, heavy = levels
    batch_rate = batch["steady"]
    print_result(
        "serve_latency",
        one["p50_ms"],
        P50_TARGET_MS,
        "lower",
        "ms, p50 latency of one sample x 20 items at 1 client",
        {"batch job judge stage, judgments/s": round(batch_rate, 1)},
        throughput_ratio_8_clients=round(eight["judgments_per_s"] / batch_rate, 3),
        throughput_ratio_heavy_load=round(heavy["judgments_per_s"] / batch_rate, 3),
        throughput_target=THROUGHPUT_TARGET,
        levels=levels,
        server_start_s=round(server.started_s, 1),
        batch_job=batch,
    )


if __name__ == "__main__":
    main()
