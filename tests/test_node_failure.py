"""A worker node of a two-node local cluster killed mid-run: the job completes and every
input row comes out exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ray
TESTS = Path(__file__).resolve().parent


def test_a_killed_worker_node_loses_no_row(tmp_path):
    from test_resume import stop_session

    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "two_node_job.py"), str(tmp_path)],
        cwd=TESTS.parent,
        env={**os.environ, "PYTHONPATH": f"{TESTS.parent}{os.pathsep}{TESTS}"},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            stop_session(proc.pid)
    lines = out.strip().splitlines()
    assert lines, err[-3000:]
    report = json.loads(lines[-1])
    assert report["error"] is None, report["error"]
    assert report["killed_after_requests"] < 80  # the node went while rows were still judged
    assert report["ids"] == [f"r{n:03d}" for n in range(80)]
    assert report["rows"] == {"in": 80, "out": 80, "errored": 0}
