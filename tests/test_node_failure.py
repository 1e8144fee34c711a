"""A worker node of a two-node local cluster killed mid-run: the job completes and every
input row comes out exactly once."""

from __future__ import annotations

import pytest
from cluster_script import run_cluster_script

pytestmark = pytest.mark.ray


def test_a_killed_worker_node_loses_no_row(tmp_path):
    report = run_cluster_script("two_node_job.py", str(tmp_path))
    assert report["error"] is None, report["error"]
    assert report["killed_after_requests"] < 80  # the node went while rows were still judged
    assert report["ids"] == [f"r{n:03d}" for n in range(80)]
    assert report["rows"] == {"in": 80, "out": 80, "errored": 0}
