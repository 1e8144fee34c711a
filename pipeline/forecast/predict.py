"""The whole job's time and cost, scaled from a probe: each judge's measured judgments/s per
actor, applied to its forecast judgments on its `concurrency` actors.

    wall = probe overhead (probe wall - its longest judging) + the longest judge's judging
    judge actor hours = actors x (probe score stage - its judging + the judge's judging)

Judges run one pool after another on the same rows, streaming, so the slowest sets the pace.
Actor hours are GPU-hours (x GPUs per actor) on GPU judges, CPU-hours (x num_cpus) on CPU
ones, and judge.price_per_hour (per actor) gives the cost, as the manifest counts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.forecast.probe import Probe
from scorers.judge.spec import JudgeSpec


def predict(
    probe: Probe,
    judges: Mapping[str, JudgeSpec],
    probe_requests: Mapping[str, int],
    judgments: Mapping[str, int],
) -> dict[str, Any]:
    """Per judge, its rate and hours; for the job, wall time and cost."""
    timings = {name: probe.judge_timings(name) for name in judges}
    for name, timing in timings.items():
        if not timing:
            raise ValueError(
                f"the probe's rows gave judge {name!r} nothing to judge (every row an error?); "
                "probe more rows"
            )
    probe_judging = max(t["judging_s"] for t in timings.values())
    rates, judging = {}, {}
    for name, judge in judges.items():
        seconds = max(timings[name]["judging_s"], 1e-3)
        rates[name] = probe_requests[name] / seconds / judge.concurrency
        judging[name] = judgments[name] / (rates[name] * judge.concurrency) if rates[name] else 0.0
    slowest = max(judging.values())
    score_s = probe.score_s - probe_judging + slowest
    per_judge = {
        name: _judge_hours(judge, rates[name], judging[name], score_s, timings[name])
        for name, judge in judges.items()
    }
    costs = [j["cost"] for j in per_judge.values() if j["cost"] is not None]
    return {
        "judges": per_judge,
        "wall_s": round(probe.wall_s - probe_judging + slowest, 1),
        "cost": round(sum(costs), 4) if costs else None,
    }


def _judge_hours(
    judge: JudgeSpec, rate: float, judging_s: float, score_s: float, probe: Mapping[str, float]
) -> dict[str, Any]:
    actor_hours = judge.concurrency * score_s / 3600
    on_gpu = judge.gpus_per_actor > 0
    return {
        "judgments_per_s_per_actor": round(rate, 2),
        "engine_start_s": probe["engine_start_s"],
        "judging_s": round(judging_s, 1),
        "device_hours_kind": "gpu" if on_gpu else "cpu",
        "device_hours": round(
            actor_hours * (judge.gpus_per_actor if on_gpu else judge.num_cpus), 4
        ),
        "cost": None if judge.price_per_hour is None else actor_hours * judge.price_per_hour,
    }
