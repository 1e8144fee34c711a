"""Judge actors go only where judge.resources / judge.node_labels allow: on a two-node local
cluster whose worker alone offers `judge: 2` (and the label rayscore/role=judge), the
manifest's judge.nodes (the node id each scored block's actor reported) is the worker's alone,
for the fake judge and for the real engine, and every row comes out exactly once. A resource
no node offers is refused before any actor starts."""

from __future__ import annotations

import pytest
from cluster_script import run_cluster_script

pytestmark = [pytest.mark.ray, pytest.mark.engine]
IDS = [f"r{n:03d}" for n in range(40)]


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_model):
    workdir = tmp_path_factory.mktemp("placement")
    return run_cluster_script(
        "placement_job.py",
        str(workdir),
        str(tiny_model),
        env={"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"},  # Ray on 127.0.0.1 only
    )


@pytest.mark.parametrize("job", ["resources", "labels", "engine"])
def test_judge_actors_run_on_the_worker_only_and_no_row_is_lost(report, job):
    outcome = report["jobs"][job]
    assert outcome["error"] is None, outcome["error"]
    assert report["head"] != report["worker"]
    assert outcome["nodes"] == {"judge": [report["worker"]]}
    assert outcome["ids"] == IDS  # every row exactly once
    assert outcome["rows"] == {"in": 40, "out": 40, "errored": 0}


def test_a_resource_no_node_offers_is_refused_up_front(report):
    error = report["jobs"]["missing"]["error"]
    assert error.startswith("ResourceError: judge.resources: each judge actor needs gpu_judge: 1")
    assert "judge: 2" in error  # what the worker offers
    assert report["jobs"]["missing"]["s"] < 30  # refused, not waited for
