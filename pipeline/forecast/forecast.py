"""`rayscore plan`'s figures for a job spec: read from its input and its judges' tokenizers,
and, with a probe, measured on its real judges; as one dict (the --json file) that the
command prints as a table."""

from __future__ import annotations

from typing import Any

from pipeline.forecast.changes import Change
from pipeline.forecast.corpus_requests import corpus_requests, table_requests
from pipeline.forecast.predict import predict
from pipeline.forecast.probe import run_probe
from pipeline.forecast.sample_rows import sampled_rows
from pipeline.forecast.token_forecast import judge_forecasts
from pipeline.plan import Plan, plan_of
from pipeline.resolve import resolve_spec_paths
from pipeline.source import InputSource, resolve_input
from pipeline.spec import JobSpec

DEFAULT_SAMPLE = 200


def plan_forecast(
    spec: JobSpec,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    probe_rows: int | None = None,
    ray_address: str | None = None,
) -> dict[str, Any]:
    spec = resolve_spec_paths(spec)
    plan = plan_of(spec)
    if not plan.judged:
        raise ValueError(f"{spec.name}: no judged scorer; rayscore plan forecasts the judge's work")
    source = resolve_input(spec)
    table = sampled_rows(plan, source, sample, seed)
    forecasts = judge_forecasts(plan, table, source.num_rows)
    judgments = corpus_requests(plan, source)
    judges = {f.name: f.figures(judgments[f.name]) for f in forecasts}
    changes = [c for f in forecasts for c in f.changes()]
    figures: dict[str, Any] = {
        "job": spec.name,
        "rows": source.num_rows,
        "sampled_rows": table.num_rows,
        "seed": seed,
        "judgments": sum(judgments.values()),
        "judges": judges,
        "changes": [c.as_dict() for c in sorted(changes, key=_first_to_make)],
        "probe": None,
    }
    if probe_rows is not None:
        figures["probe"] = _probe(plan, source, probe_rows, seed, judgments, ray_address)
    return figures


def _first_to_make(change: Change) -> float:
    """Rows that would not be scored first, then the largest saving."""
    return -float("inf") if change.fewer_tokens is None else -change.fewer_tokens


def _probe(
    plan: Plan,
    source: InputSource,
    rows: int,
    seed: int,
    judgments: dict[str, int],
    ray_address: str | None,
) -> dict[str, Any]:
    table = sampled_rows(plan, source, rows, seed)
    asked = table_requests(plan, table)
    probe = run_probe(plan, table, ray_address)
    judge = probe.manifest["judge"]
    return {
        "rows": probe.rows,
        "requests": probe.requests,
        "requests_forecast": sum(asked.values()),
        "wall_s": probe.wall_s,
        "score_s": probe.score_s,
        "judge_timings_s": judge["timings_s"],
        "prompt_tokens": judge["prompt_tokens"],
        "cached_prompt_tokens": judge["cached_prompt_tokens"],
        "prefix_cache_share": judge["cached_prompt_tokens"] / judge["prompt_tokens"]
        if judge["prompt_tokens"]
        else None,
        "predicted": predict(probe, plan.used_judges, asked, judgments),
    }
