"""Run a test script that builds its own local Ray cluster, in its own process session, so the
test session's Ray is untouched; stop the whole session by its pid if it outlives the timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent


def run_cluster_script(script: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """The script's report: its last stdout line that is a JSON object."""
    from test_resume import stop_session

    proc = subprocess.Popen(
        [sys.executable, str(TESTS / script), *args],
        cwd=TESTS.parent,
        env={**os.environ, "PYTHONPATH": f"{TESTS.parent}{os.pathsep}{TESTS}", **(env or {})},
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
    # Ray may print a killed node's raylet log to stdout after the report: the last JSON line
    reports = [line for line in out.strip().splitlines() if line.startswith("{")]
    assert reports, err[-3000:]
    return json.loads(reports[-1])
