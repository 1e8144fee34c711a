"""Plans the cluster cannot run are refused up front, naming the spec key."""

from __future__ import annotations

import pytest

from pipeline.resources import ResourceError, check_resources
from scorers.judge.spec import JudgeSpec

CPU_NODE = {"CPU": 2.0}
GPU_NODE = {"CPU": 8.0, "GPU": 2.0}


def judge(**knobs: float) -> JudgeSpec:
    return JudgeSpec(model="m/m", **knobs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("judges", "nodes", "message"),
    [
        ({"judge": judge(num_gpus=1)}, [CPU_NODE], "judge.num_gpus: each judge actor needs 1"),
        ({"judge": judge(num_gpus=2, concurrency=3)}, [GPU_NODE, GPU_NODE, CPU_NODE],
         "judge.concurrency: 3 actors of 2 GPU"),
        ({"a": judge(num_gpus=1, concurrency=2), "b": judge(num_gpus=1, concurrency=2)},
         [GPU_NODE, CPU_NODE], "need 4 GPUs at once"),
        ({"judge": judge(concurrency=2)}, [CPU_NODE], "leaving less than 1 for reading"),
    ],
)  # fmt: skip
def test_a_plan_the_cluster_cannot_run_is_refused(judges, nodes, message):
    with pytest.raises(ResourceError, match=message):
        check_resources(judges, nodes)


def test_plans_that_fit_pass():
    check_resources({"judge": judge()}, [CPU_NODE])
    check_resources({"a": judge(num_cpus=0.5), "b": judge(num_cpus=0.5)}, [CPU_NODE])
    check_resources({"judge": judge(num_gpus=1, concurrency=4)}, [GPU_NODE, GPU_NODE, CPU_NODE])
