"""A run whose warm judges go away under it (idle time-out, `rayscore judges down`, a lost
node) goes on cold: each thin client starts an engine of the run's own, placed as a cold
run's judge actor would be (the judge's GPUs and resources; the client itself holds none),
and the run's fallback log records why, for the manifest (`judge.warm_fallbacks`)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from pipeline.warm.actor import MAX_CONCURRENT_CALLS, ask_info, warm_actor_class
from pipeline.warm.client import WarmJudgeClient
from scorers.judge.result import LogprobJudge
from scorers.judge.spec import JudgeSpec


class FallbackLog:
    """A Ray actor of the run's driver: why each thin client that fell back did, per judge."""

    def __init__(self) -> None:
        self.reasons: dict[str, list[str]] = {}

    def note(self, judge: str, reason: str) -> None:
        self.reasons.setdefault(judge, []).append(reason)

    def noted(self) -> dict[str, list[str]]:
        return self.reasons


def start_fallback_log() -> Any:
    """The handle of a new FallbackLog; it ends with the driver."""
    import ray

    return ray.remote(FallbackLog).options(num_cpus=0).remote()


def noted_fallbacks(log: Any) -> dict[str, list[str]]:
    """What the log holds (judge name -> reasons); nothing without a log."""
    import ray

    return {} if log is None else dict(ray.get(log.noted.remote()))


@dataclass(frozen=True)
class ColdFallback:
    """What a thin client needs to go cold: its judge, the judge's name, the run's log, and
    the environment a cold run's judge actors get (API keys)."""

    judge: JudgeSpec
    judge_name: str
    log: Any
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def __call__(self, reason: str) -> LogprobJudge:
        print(
            f"rayscore: judge {self.judge_name!r}: {reason}; starting an engine of this run's own",
            file=sys.stderr,
            flush=True,
        )
        self.log.note.remote(self.judge_name, reason)
        return own_engine(self.judge, self.env)


def own_engine(judge: JudgeSpec, env: dict[str, str]) -> WarmJudgeClient:
    """A judge engine in an actor of this client's own (it ends with the client), placed
    with the judge's actor options."""
    import ray

    actor = (
        warm_actor_class()
        .options(
            max_concurrency=MAX_CONCURRENT_CALLS,
            **judge.actor_options(),
            runtime_env={"env_vars": env} if env else None,
        )
        .remote(judge, "own engine (warm judge gone)", "", None)
    )
    return WarmJudgeClient([actor], [ray.get(ask_info(actor))], ray.get)
