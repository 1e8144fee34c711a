"""Warm judges on the connected cluster: started, found by fingerprint, listed, stopped.

A judge's warm actors are `judge-<fingerprint[:16]>-<slot>` in namespace "rayscore", one per
actor slot (judge.concurrency), each placed with the judge's own actor options. Every call
here needs Ray connected (pipeline.runner.connect_ray).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.judge_fingerprint import judge_fingerprint
from pipeline.warm.actor import (
    MAX_CONCURRENT_CALLS,
    ask_info,
    warm_actor_class,
)
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


@dataclass(frozen=True)
class Asked:
    """What the named warm actors said to info(): the answers, and the names of those alive
    that gave none within the time-out (loading their engine, or stuck). Those gone since they
    were listed are in neither."""

    answered: list[dict[str, Any]]
    not_answering: list[str]


class WarmJudgesNotAnswering(ValueError):
    """Warm actors of the run's judge are alive but silent: a second engine is not started
    beside them, on GPUs they may hold. (A ValueError: rayscore prints it as a refusal.)"""


def infos(names: Sequence[str], timeout_s: float = INFO_TIMEOUT_S, touch: bool = False) -> Asked:
    """Each named warm actor's info(), asked in its own concurrency group (actor.INFO_GROUP);
    with `touch`, each one's idle time starts again (one that is closing counts as gone)."""
    import ray

    asked = {}
    for name in names:
        try:
            asked[name] = ask_info(ray.get_actor(name, namespace=NAMESPACE), touch)
        except ValueError:
            continue  # stopped since it was listed
    answered, not_answering = [], []
    for name, answer in asked.items():
        try:
            answered.append(ray.get(answer, timeout=timeout_s))
        except ray.exceptions.GetTimeoutError:
            not_answering.append(name)
        except ray.exceptions.RayError:
            continue  # died since it was listed, or is closing (idle time-out)
    return Asked(answered, not_answering)


def find_warm(fingerprint: str) -> list[dict[str, Any]]:
    """The info of every warm actor whose judge has this fingerprint (the whole of it, not
    only the name's prefix): the run's, worked out once up front (Run.judge_fingerprints).
    Each found restarts its idle time, so it does not end before the run connects.
    Raises WarmJudgesNotAnswering if one of its actors is alive but does not answer."""
    names = warm_names()
    if not names:
        return []
    asked = infos(names_for(fingerprint, names), touch=True)
    if asked.not_answering:
        raise WarmJudgesNotAnswering(
            f"warm judge(s) {', '.join(asked.not_answering)} of this run's judge are alive but "
            f"did not answer within {INFO_TIMEOUT_S:g} s (still loading their engine, or "
            "stuck); wait for `rayscore judges up` to finish, or stop them (`rayscore judges "
            "down SPEC`) to run on an engine of the run's own"
        )
    return [i for i in asked.answered if i["fingerprint"] == fingerprint]


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
            warm_actor_class()
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
        waits.append(ask_info(actor))
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
