"""One writer per run directory: a live run's lease refuses a second run within seconds, a
lease whose heartbeat stopped (a killed run) is taken over, and a finished run leaves none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.attempt import check_job
from pipeline.spec_loader import parse_spec
from pipeline.storage.run_dir import LEASE, RunDirectory, RunState
from pipeline.storage.run_lease import TTL_S, RunDirectoryHeld, RunLease


def job(tmp_path):
    data = tmp_path / "in.parquet"
    if not data.exists():
        pq.write_table(pa.table({"id": ["a", "b"], "response": ["x", "y"]}), data)
    return parse_spec(
        {
            "name": "leased",
            "input": {"path": str(data), "id_column": "id"},
            "output": {"path": str(tmp_path / "run")},
            "definition": {"scorers": [{"type": "uniqueness", "key": "u", "column": "response"}]},
        }
    )


def test_a_second_run_on_a_path_a_live_run_holds_is_refused_fast_naming_the_holder(tmp_path):
    first = check_job(job(tmp_path), None)
    try:
        started = time.monotonic()
        with pytest.raises(RunDirectoryHeld) as refused:
            check_job(job(tmp_path), None)
        assert time.monotonic() - started < 5
        message = str(refused.value)
        assert str(tmp_path / "run") in message and first.attempt_id in message
        assert f"pid {os.getpid()}" in message
        # refused before anything was touched: the first run's files are as it left them
        assert first.run_dir.read_json(LEASE)["run_id"] == first.attempt_id
    finally:
        first.release()
    assert not (tmp_path / "run" / LEASE).exists()
    check_job(job(tmp_path), None).release()  # released: the next run resumes it


def test_a_lease_whose_heartbeat_stopped_is_taken_over_and_the_run_resumes(tmp_path):
    first = check_job(job(tmp_path), None)
    first.lease._stop.set()  # the heartbeat of a run killed with SIGKILL stops like this
    lease = tmp_path / "run" / LEASE
    held = json.loads(lease.read_text())
    lease.write_text(json.dumps({**held, "heartbeat": time.time() - TTL_S - 1}))
    second = check_job(job(tmp_path), None)
    try:
        assert second.resumed
        assert second.run_dir.read_json(LEASE)["run_id"] == second.attempt_id
    finally:
        second.release()


def test_the_lease_is_refreshed_while_the_run_lives(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.storage.run_lease.HEARTBEAT_S", 0.2)
    run_dir = RunDirectory(str(tmp_path / "run"))
    lease = RunLease.acquire(run_dir, "r1")
    try:
        first = run_dir.read_json(LEASE)["heartbeat"]
        deadline = time.monotonic() + 30  # a loaded machine may run the heartbeat late
        while run_dir.read_json(LEASE)["heartbeat"] == first:
            assert time.monotonic() < deadline, "the lease was not refreshed"
            time.sleep(0.1)
        assert run_dir.read_json(LEASE)["heartbeat"] > first
    finally:
        lease.release()
    assert run_dir.state() is RunState.EMPTY


def test_a_directory_left_holding_only_a_lease_is_empty(tmp_path):
    run_dir = RunDirectory(str(tmp_path / "run"))
    run_dir.write_json(LEASE, {"run_id": "gone", "heartbeat": 0})
    assert run_dir.state() is RunState.EMPTY


def test_a_lease_of_a_process_gone_from_this_host_is_taken_over_at_once(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    first = check_job(job(tmp_path), None)
    first.lease._stop.set()
    lease = tmp_path / "run" / LEASE
    lease.write_text(json.dumps({**json.loads(lease.read_text()), "pid": gone.pid}))
    second = check_job(job(tmp_path), None)  # fresh heartbeat, but nobody behind it
    second.release()
    assert second.resumed
