"""Warm judges on the connected cluster: started, found by fingerprint, listed, stopped.

A judge's warm actors are `judge-<fingerprint[:16]>-<slot>` in namespace "rayscore", one per
actor slot (judge.concurrency), each placed with the judge's own actor options. Every call
here needs Ray connected (pipeline.runner.connect_ray).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.judge_fingerprint import judge_fingerprint
from pipeline.warm.actor import MAX_CONCURRENT_CALLS, WarmJudgeActor
from pipeline.warm.names import NAMESPACE, actor_name, is_warm_judge, names_for
from scorers.judge.spec import JudgeSpec

INFO_TIMEOUT_S = 10.0  # a warm actor answers info() at once, even while it judges


def warm_names() -> list[str]:
    """Names of the warm judge actors alive on the cluster."""
    import ray

    return sorted(
        entry["name"]
        for entry in ray.util.list_named_actors(all_namespaces=True)
        if entry["namespace"] == NAMESPACE and is_warm_judge(entry["name"])
    )


def infos(names: Sequence[str]) -> list[dict[str, Any]]:
    """Each named warm actor's info(); one that is gone or does not answer is left out."""
    import ray

    asked = []
    for name in names:
        try:
            asked.append(ray.get_actor(name, namespace=NAMESPACE).info.remote())
        except ValueError:
            continue  # stopped since it was listed
    found = []
    for answer in asked:
        try:
            found.append(ray.get(answer, timeout=INFO_TIMEOUT_S))
        except ray.exceptions.RayError:
            continue  # died, or not ready
    return found


def find_warm(fingerprint: str) -> list[dict[str, Any]]:
    """The info of every warm actor whose judge has this fingerprint (the whole of it, not
    only the name's prefix): the run's, worked out once up front (Run.judge_fingerprints)."""
    names = warm_names()
    if not names:
        return []
    return [i for i in infos(names_for(fingerprint, names)) if i["fingerprint"] == fingerprint]


def start_warm(
    judge: JudgeSpec, idle_timeout_s: float | None, env: Mapping[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """One warm actor per judge actor slot, each loading its engine; returns once all are
    ready: (names started now, names that were warm already)."""
    import ray

    fingerprint = judge_fingerprint(judge)
    running = set(warm_names())
    started, already = [], []
    waits = []
    for slot in range(judge.concurrency):
        name = actor_name(fingerprint, slot)
        if name in running:
            already.append(name)
            continue
        actor = (
            ray.remote(WarmJudgeActor)
            .options(
                name=name,
                namespace=NAMESPACE,
                lifetime="detached",
                max_concurrency=MAX_CONCURRENT_CALLS,
                **judge.actor_options(),
                runtime_env={"env_vars": dict(env)} if env else None,
            )
            .remote(judge, name, fingerprint, idle_timeout_s)
        )
        waits.append(actor.info.remote())
        started.append(name)
    ray.get(waits)  # an engine that cannot start raises here, with its reason
    return started, already


def stop_warm(names: Sequence[str]) -> list[str]:
    """Kill the named warm actors; the names that were alive."""
    import ray

    stopped = []
    for name in names:
        try:
            handle = ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            continue
        ray.kill(handle, no_restart=True)
        stopped.append(name)
    return stopped
