"""`rayscore serve` for real: its own local Ray, Ray Serve on 127.0.0.1 and the vLLM CPU engine
on the small local model, compared with the batch job on the same rows."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from serve_spec import SERVED_KEYS, serve_spec
from test_resume import stop_session

from bench.ports import free_port
from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

pytestmark = [pytest.mark.ray, pytest.mark.engine]

START_TIMEOUT_S = 240
REQUEST_TIMEOUT_S = 120
MAX_ROWS = 8


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def post(self, body: Any) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/score", data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=REQUEST_TIMEOUT_S) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer


@pytest.fixture(scope="module")
def spec_file(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, demo_parquet: Path
) -> Path:
    tmp = tmp_path_factory.mktemp("serve")
    rows = pl.read_parquet(demo_parquet).head(12)  # s00010 has no response
    rows.write_parquet(tmp / "rows.parquet")
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(serve_spec(tiny_model, tmp / "rows.parquet", tmp / "run")))
    return path


@pytest.fixture(scope="module")
def server(spec_file: Path) -> Iterator[Server]:
    port = free_port()
    log = spec_file.parent / "serve.log"
    with log.open("wb") as out:
        command = [sys.executable, "-m", "jobs.cli", "serve", str(spec_file)]
        process = subprocess.Popen(
            [*command, "--port", str(port), "--max-rows", str(MAX_ROWS)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped by its id, Ray with it
        )
    running = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"rayscore serve exited {process.returncode}:\n{log.read_text()}")
            try:
                running.get("/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"rayscore serve did not answer:\n{log.read_text()[-3000:]}")
                time.sleep(1)
        yield running
    finally:
        if process.poll() is None:
            stop_session(process.pid)


def request_rows(spec_file: Path) -> list[dict[str, Any]]:
    rows = pl.read_parquet(spec_file.parent / "rows.parquet")
    return rows.select("prompt", "response", "checklist").to_dicts()


def same(served: Any, batch: Any, where: str = "") -> None:
    """Equal structs, floats to engine precision; `usage` differs (what the cache held)."""
    if isinstance(batch, dict):
        assert isinstance(served, dict) and served.keys() == batch.keys(), where
        for key in batch:
            if key != "usage":
                same(served[key], batch[key], f"{where}.{key}")
    elif isinstance(batch, list):
        assert isinstance(served, list) and len(served) == len(batch), where
        for n, (a, b) in enumerate(zip(served, batch, strict=True)):
            same(a, b, f"{where}[{n}]")
    elif isinstance(batch, float) and not math.isnan(batch):
        assert served == pytest.approx(batch, rel=1e-4, abs=1e-5), where
    else:
        assert served == batch, where


def test_served_scores_equal_the_batch_jobs(server: Server, spec_file: Path, ray_cluster) -> None:
    result = run_job(parse_spec(yaml.safe_load(spec_file.read_text())))
    batch = pl.read_parquet(f"{result.run_dir}/scores/*.parquet")
    rows = request_rows(spec_file)
    served: list[dict[str, Any]] = []
    for start in range(0, len(rows), MAX_ROWS):
        status, answer = server.post({"rows": rows[start : start + MAX_ROWS]})
        assert status == 200, answer
        served.extend(answer["rows"])
    ids = pl.read_parquet(spec_file.parent / "rows.parquet")["id"].to_list()
    by_id = {row["id"]: row for row in batch.to_dicts()}
    assert len(served) == len(ids)
    for sample_id, row in zip(ids, served, strict=True):
        assert list(row) == [*SERVED_KEYS, "error"]  # not the cross-sample scorer
        expected = by_id[sample_id]
        same({k: row[k] for k in SERVED_KEYS}, {k: expected[k] for k in SERVED_KEYS}, sample_id)
        assert row["error"] == expected["error"], sample_id
    assert served[ids.index("s00010")]["error"]  # no response: an error in its row, as in batch


def test_concurrent_requests_share_engine_calls(server: Server, spec_file: Path) -> None:
    rows = [r for r in request_rows(spec_file) if r["response"] is not None]
    before = server.get("/healthz")["judges"]
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda n: server.post({"rows": [rows[n % len(rows)]]}), range(50)))
    assert [status for status, _ in answers] == [200] * 50
    for n, (_, answer) in enumerate(answers):
        assert answer["rows"][0]["error"] is None
        want = rows[n % len(rows)]["checklist"]
        assert [i["question"] for i in answer["rows"][0]["rubric"]["item_scores"]] == [
            i["question"] for i in want
        ]
    after = server.get("/healthz")["judges"]
    assert set(after) == {"judge", "rater"}
    for name in after:
        requests = after[name]["requests"] - before[name]["requests"]
        batches = after[name]["batches"] - before[name]["batches"]
        assert requests == 50, name
        assert batches < requests, f"{name}: {requests} requests in {batches} engine batches"


def test_bad_requests_are_answered_4xx_naming_row_and_field(
    server: Server, spec_file: Path
) -> None:
    good = request_rows(spec_file)[0]
    status, answer = server.post({"rows": [good, {**good, "response": 7}, {"prompt": "Hi"}]})
    assert status == 422
    assert "rows[1].response" in answer["detail"]
    assert "rows[2].response: missing" in answer["detail"]
    assert {(p["row"], p["field"]) for p in answer["problems"]} >= {(1, "response")}
    assert answer["rows"][0]["error"] is None  # the good row is scored all the same
    assert answer["rows"][0]["quality"]["item_scores"][0]["confidence"] is not None
    assert answer["rows"][1]["quality"] is None

    status, answer = server.post({"rows": [{**good, "response": "word " * 3000}]})
    assert status == 422
    assert answer["problems"][0]["field"] == "response"
    assert "max_model_len 1024" in answer["detail"]

    status, answer = server.post({"rows": [good] * (MAX_ROWS + 1)})
    assert status == 413 and f"at most {MAX_ROWS}" in answer["detail"]
    status, answer = server.post(b"not json")
    assert status == 400

    status, answer = server.post({"rows": [good]})  # still serving
    assert status == 200 and answer["rows"][0]["error"] is None


def test_schema_and_health(server: Server) -> None:
    schema = server.get("/schema")
    assert sorted(schema["$defs"]["Row"]["required"]) == ["checklist", "prompt", "response"]
    assert server.get("/healthz")["scorers"] == SERVED_KEYS


def test_sigterm_stops_the_server_and_its_ray(server: Server) -> None:
    os.kill(server.process.pid, signal.SIGTERM)
    assert server.process.wait(timeout=90) == 0, server.log.read_text()[-3000:]
    assert "rayscore: stopping" in server.log.read_text()
    with pytest.raises(OSError):
        server.get("/healthz")
    assert session_processes(server.process.pid, wait_s=30) == []


def test_sigterm_during_start_up_stops_at_once(spec_file: Path) -> None:
    log = spec_file.parent / "interrupted.log"
    with log.open("wb") as out:
        command = [sys.executable, "-m", "jobs.cli", "serve", str(spec_file)]
        process = subprocess.Popen(
            [*command, "--port", str(free_port())],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "starting 2 judge replica(s)" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=90) == 130, log.read_text()[-3000:]
        assert "stopped before it was serving" in log.read_text()
        assert session_processes(process.pid, wait_s=30) == []
    finally:
        if process.poll() is None:
            stop_session(process.pid)


def session_processes(session: int, wait_s: float) -> list[str]:
    """The processes still in `session` (the local Ray the server started) after `wait_s`."""
    import psutil

    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for proc in psutil.process_iter(["name"]):
            try:
                if os.getsid(proc.pid) == session:
                    left.append(proc.info["name"])
            except (ProcessLookupError, psutil.Error, PermissionError):
                continue
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1)
