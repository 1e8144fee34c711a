"""`rayscore review RUN` as a user starts it: a process that prints a URL with a token on a
free port, refuses a request without the token and serves one with it; stopped by its own
process id."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from review_runs import make_run

START_TIMEOUT_S = 60
ROOT = Path(__file__).resolve().parents[1]


def test_review_prints_a_tokened_url_on_a_free_port_and_refuses_requests_without_it(tmp_path):
    run = make_run(tmp_path / "run")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "jobs.cli", "review", run, "--author", "ana"]
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    try:
        assert server.stdout is not None
        printed = ""
        while "open http" not in printed:
            line = server.stdout.readline()
            assert line, f"rayscore review ended before printing its URL:\n{printed}"
            printed += line
        url = re.search(r"open (http://127\.0\.0\.1:(\d+)/samples\?token=(\S+))", printed)
        assert url is not None, printed
        assert int(url[2]) > 0 and len(url[3]) >= 32
        assert f"{run}/annotations" in printed and "as ana" in printed
        base = url[1].split("/samples")[0]
        try:
            urllib.request.urlopen(f"{base}/samples", timeout=START_TIMEOUT_S)
            raise AssertionError("a request without the token was served")
        except urllib.error.HTTPError as refused:
            assert refused.code == 403
        with urllib.request.urlopen(url[1], timeout=START_TIMEOUT_S) as answer:
            assert answer.status == 200 and b'<span id="total">120</span>' in answer.read()
    finally:
        server.terminate()
        server.wait(timeout=START_TIMEOUT_S)
