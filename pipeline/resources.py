"""Refuse, up front, a plan the cluster cannot run: judge actors that need more GPUs than a
node has or than the cluster holds, a custom resource or node labels (judge.resources,
judge.node_labels) no live node offers, a tensor-parallel engine wider than any node, or judge
actors that take every CPU and leave none for the read, write and reduce tasks (Ray Data would
wait for them for good).

A judge actor runs on one node: it reserves judge.gpus_per_actor GPUs (num_gpus, or
tensor_parallel_size x pipeline_parallel_size when that is more) and every judge.resources
amount there, on a node whose labels match judge.node_labels."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scorers.judge.spec import JudgeSpec
from scorers.judge.vllm_spec import VllmJudgeSpec

# CPUs the rest of the plan needs while the judge actors hold theirs.
CPUS_FOR_OTHER_STAGES = 1.0
# Resources Ray gives every node by itself: not worth listing in a refusal.
_IMPLICIT = ("memory", "object_store_memory")
NODE_ID_LABEL = "ray.io/node-id"  # every node's own: says nothing about placement


class ResourceError(ValueError):
    """The cluster cannot run the job as specified; the message names the spec key."""


@dataclass(frozen=True)
class Node:
    """A live node: its resources (ray.nodes()[i]["Resources"]) and labels."""

    resources: Mapping[str, float]
    labels: Mapping[str, str] = field(default_factory=dict)
    node_id: str = ""


def check_resources(
    judges: Mapping[str, JudgeSpec], nodes: Sequence[Node | Mapping[str, Any]]
) -> None:
    """`judges`: the judges the job uses (their actor pools run at the same time); `nodes`:
    each live node, as a Node or as its resources alone."""
    live = [n if isinstance(n, Node) else Node(resources=n) for n in nodes]
    node_gpus = [float(n.resources.get("GPU", 0)) for n in live]
    total_cpus = sum(float(n.resources.get("CPU", 0)) for n in live)
    have = f"the cluster has {len(live)} node(s), {total_cpus:g} CPUs, {sum(node_gpus):g} GPUs"
    taken: dict[str, float] = {}
    cpus_taken = 0.0
    for name, judge in judges.items():
        key = "judge" if name == "judge" else f"judges.{name}"
        hosts = _hosts(key, judge, live)
        needs = _per_actor(judge)
        gpus = needs.get("GPU", 0.0)
        host_gpus = [float(n.resources.get("GPU", 0)) for n in hosts]
        if gpus > max(host_gpus, default=0.0):
            raise ResourceError(_too_few_gpus(key, judge, hosts, live, have))
        fits = sum(_actors_fitting(n, needs) for n in hosts) if needs else judge.concurrency
        if fits < judge.concurrency:
            raise ResourceError(
                f"{key}.concurrency: {judge.concurrency} actors of {_describe(needs)} do not "
                f"fit on the cluster's nodes{_where(judge)}: {fits} do; {_offers(hosts, have)}"
            )
        for resource, amount in needs.items():
            taken[resource] = taken.get(resource, 0.0) + amount * judge.concurrency
        cpus_taken += judge.num_cpus * judge.concurrency
    for resource, amount in taken.items():
        offered = sum(float(n.resources.get(resource, 0)) for n in live)
        if amount > offered:
            what = "GPUs" if resource == "GPU" else f"{resource!r} (judge.resources)"
            raise ResourceError(
                f"judges: their actors need {amount:g} {what} at once (every judge's pool runs "
                f"at the same time) and the cluster offers {offered:g}; {have}"
            )
    if cpus_taken > total_cpus - CPUS_FOR_OTHER_STAGES:
        raise ResourceError(
            f"judge.concurrency x judge.num_cpus: the judge actors take {cpus_taken:g} CPUs and "
            f"{have}, leaving less than {CPUS_FOR_OTHER_STAGES:g} for reading, writing and the "
            "reduce stage, so the job could never finish. Lower num_cpus (0.5 lets two "
            "engines share a core) or concurrency of the judges."
        )


def _per_actor(judge: JudgeSpec) -> dict[str, float]:
    """What one judge actor reserves on its node, CPUs aside (checked over the cluster)."""
    gpus = {"GPU": judge.gpus_per_actor} if judge.gpus_per_actor else {}
    return {**gpus, **judge.resources}


def _actors_fitting(node: Node, needs: Mapping[str, float]) -> int:
    return min(math.floor(float(node.resources.get(r, 0)) / a) for r, a in needs.items())


def _hosts(key: str, judge: JudgeSpec, live: Sequence[Node]) -> list[Node]:
    """The nodes a judge actor may run on; a placement no node satisfies is refused."""
    hosts = list(live)
    if judge.node_labels:
        hosts = [n for n in hosts if labels_match(judge.node_labels, n.labels)]
        if not hosts:
            labels = {(k, v) for n in live for k, v in n.labels.items() if k != NODE_ID_LABEL}
            seen = sorted(f"{k}={v}" for k, v in labels)
            raise ResourceError(
                f"{key}.node_labels: no live node's labels match {dict(judge.node_labels)}; the "
                f"nodes have {', '.join(seen) or 'no labels'} ({len(live)} node(s))"
            )
    for resource, amount in judge.resources.items():
        offering = [n for n in hosts if float(n.resources.get(resource, 0)) >= amount]
        if not offering:
            raise ResourceError(
                f"{key}.resources: each judge actor needs {resource}: {amount:g} but no live "
                f"node{' with those labels' if judge.node_labels else ''} offers that much; "
                f"{_offers(live, f'{len(live)} node(s)')}. Start nodes that offer it (cluster."
                "yaml: resources of the GPU worker type), or on an autoscaling cluster whose "
                "workers are not up yet pass --no-resource-check"
            )
        hosts = offering
    return hosts


def _too_few_gpus(
    key: str, judge: JudgeSpec, hosts: Sequence[Node], live: Sequence[Node], have: str
) -> str:
    gpus = judge.gpus_per_actor
    most = max((float(n.resources.get("GPU", 0)) for n in hosts), default=0.0)
    among = f" among the nodes{_where(judge)}" if len(hosts) < len(live) else ""
    if (
        isinstance(judge, VllmJudgeSpec)
        and judge.engine_gpus > 1
        and judge.engine_gpus >= judge.num_gpus
    ):
        kwargs = judge.engine_kwargs
        split = f"tensor_parallel_size {kwargs.get('tensor_parallel_size', 1)}"
        if kwargs.get("pipeline_parallel_size", 1) != 1:
            split += f" x pipeline_parallel_size {kwargs['pipeline_parallel_size']}"
        return (
            f"{key}.engine_kwargs.tensor_parallel_size: {split} splits each judge engine over "
            f"{judge.engine_gpus} GPUs of one node (an actor reserves max(num_gpus, "
            f"{judge.engine_gpus})), but the most any node has{among} is {most:g}; {have}"
        )
    return (
        f"{key}.num_gpus: each judge actor needs {gpus:g} GPU(s) but no node{among} has that "
        f"many (at most {most:g}); {have}"
    )


def _where(judge: JudgeSpec) -> str:
    parts = []
    if judge.resources:
        parts.append(f"offering {_describe(judge.resources)}")
    if judge.node_labels:
        parts.append(f"labelled {dict(judge.node_labels)}")
    return f" {' and '.join(parts)}" if parts else ""


def _describe(needs: Mapping[str, float]) -> str:
    return ", ".join(
        f"{amount:g} GPU(s)" if name == "GPU" else f"{name}: {amount:g}"
        for name, amount in needs.items()
    )


def _offers(nodes: Sequence[Node], prefix: str) -> str:
    """What each node offers, custom resources included: what the refusal compares with."""
    shown = []
    for node in nodes:
        offered = sorted(node.resources.items())
        listed = [f"{k}: {float(v):g}" for k, v in offered if not _implicit(k)]
        shown.append("{" + ", ".join(listed) + "}")
    return f"{prefix}: {'; '.join(shown)}"


def _implicit(resource: str) -> bool:
    return resource in _IMPLICIT or resource.startswith("node:")


def labels_match(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Ray's label selector: `v` (equal), `!v` (not equal or absent), `in(a,b)` (one of),
    `!in(a,b)` (none of, or absent)."""
    for key, condition in selector.items():
        negate = condition.startswith("!")
        body = condition[1:] if negate else condition
        if body.startswith("in(") and body.endswith(")"):
            values = {v.strip() for v in body[3:-1].split(",")}
        else:
            values = {body}
        present = key in labels and labels[key] in values
        if present == negate:
            return False
    return True


def live_nodes() -> list[Node]:
    import ray

    return [
        Node(
            resources=dict(n["Resources"]),
            labels=dict(n.get("Labels") or {}),
            node_id=str(n.get("NodeID", "")),
        )
        for n in ray.nodes()
        if n.get("Alive")
    ]
