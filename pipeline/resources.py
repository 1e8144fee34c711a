"""Refuse, up front, a plan the cluster cannot run: judge actors that need more GPUs than a
node has or than the cluster holds, or judge actors that take every CPU and leave none for
the read, write and reduce tasks (Ray Data would wait for them for good)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from scorers.judge.spec import JudgeSpec

# CPUs the rest of the plan needs while the judge actors hold theirs.
CPUS_FOR_OTHER_STAGES = 1.0


class ResourceError(ValueError):
    """The cluster cannot run the job as specified; the message names the spec key."""


def check_resources(judges: Mapping[str, JudgeSpec], nodes: Sequence[Mapping[str, Any]]) -> None:
    """`judges`: the judges the job uses (their actor pools run at the same time); `nodes`:
    each live node's resources (ray.nodes()[i]["Resources"])."""
    node_gpus = [float(n.get("GPU", 0)) for n in nodes]
    total_cpus = sum(float(n.get("CPU", 0)) for n in nodes)
    have = f"the cluster has {len(nodes)} node(s), {total_cpus:g} CPUs, {sum(node_gpus):g} GPUs"
    gpus_taken = cpus_taken = 0.0
    for name, judge in judges.items():
        key = "judge" if name == "judge" else f"judges.{name}"
        gpus = judge.num_gpus
        if gpus > max(node_gpus, default=0.0):
            raise ResourceError(
                f"{key}.num_gpus: each judge actor needs {gpus:g} GPU(s) but no node has that "
                f"many; {have}"
            )
        if gpus and sum(math.floor(g / gpus) for g in node_gpus) < judge.concurrency:
            raise ResourceError(
                f"{key}.concurrency: {judge.concurrency} actors of {gpus:g} GPU(s) do not fit "
                f"on the cluster's nodes; {have}"
            )
        gpus_taken += gpus * judge.concurrency
        cpus_taken += judge.num_cpus * judge.concurrency
    if gpus_taken > sum(node_gpus):
        raise ResourceError(
            f"judges: their actors need {gpus_taken:g} GPUs at once (every judge's pool runs "
            f"at the same time); {have}"
        )
    if cpus_taken > total_cpus - CPUS_FOR_OTHER_STAGES:
        raise ResourceError(
            f"judge.concurrency x judge.num_cpus: the judge actors take {cpus_taken:g} CPUs and "
            f"{have}, leaving less than {CPUS_FOR_OTHER_STAGES:g} for reading, writing and the "
            "reduce stage, so the job could never finish. Lower num_cpus (0.5 lets two "
            "engines share a core) or concurrency of the judges."
        )


def live_nodes() -> list[dict[str, Any]]:
    import ray

    return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]
