"""Refuse, up front, a plan the cluster cannot run: judge actors that need more GPUs than a
node has or than the cluster holds, or judge actors that take every CPU and leave none for
the read, write and reduce tasks (Ray Data would wait for them for good)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scorers.judge.spec import JudgeSpec

# CPUs the rest of the plan needs while the judge actors hold theirs.
CPUS_FOR_OTHER_STAGES = 1.0


class ResourceError(ValueError):
    """The cluster cannot run the job as specified; the message names the spec key."""


def check_resources(judges: Mapping[str, JudgeSpec], nodes: Sequence[Mapping[str, Any]]) -> None:
    """`nodes`: each live node's resources (ray.nodes()[i]["Resources"])."""
    total_cpus = sum(float(n.get("CPU", 0)) for n in nodes)
    total_gpus = sum(float(n.get("GPU", 0)) for n in nodes)
    most_gpus = max((float(n.get("GPU", 0)) for n in nodes), default=0.0)
    have = f"the cluster has {len(nodes)} node(s), {total_cpus:g} CPUs, {total_gpus:g} GPUs"
    cpus_taken = 0.0
    for name, judge in judges.items():
        key = "judge" if name == "judge" else f"judges.{name}"
        if judge.num_gpus > most_gpus:
            raise ResourceError(
                f"{key}.num_gpus: each judge actor needs {judge.num_gpus:g} GPU(s) but no node "
                f"has that many; {have}"
            )
        if judge.num_gpus * judge.concurrency > total_gpus:
            raise ResourceError(
                f"{key}.concurrency: {judge.concurrency} actors x {judge.num_gpus:g} GPU(s) "
                f"need {judge.num_gpus * judge.concurrency:g} GPUs; {have}"
            )
        cpus_taken += judge.num_cpus * judge.concurrency
    if cpus_taken > total_cpus - CPUS_FOR_OTHER_STAGES:
        raise ResourceError(
            f"judge.concurrency x judge.num_cpus: the judge actors take {cpus_taken:g} CPUs and "
            f"{have}, leaving less than {CPUS_FOR_OTHER_STAGES:g} for reading, writing and the "
            "reduce stage, so the job could never finish. Lower judge.num_cpus (0.5 lets two "
            "engines share a core) or judge.concurrency."
        )


def live_nodes() -> list[dict[str, Any]]:
    import ray

    return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]
