"""`rayscore plan SPEC [--probe N]`: a job's judge work, time and cost before it runs
(pipeline.forecast), as a table; `--json FILE` writes the same figures for machines."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from pipeline.forecast.forecast import plan_forecast
from pipeline.spec_loader import load_spec


def plan_command(
    spec_path: str,
    sample: int,
    seed: int,
    probe: int | None,
    json_path: str | None,
    address: str | None,
) -> int:
    if probe is not None and probe < 1:
        raise ValueError(f"--probe takes 1 row or more, got {probe}")
    figures = plan_forecast(load_spec(spec_path), sample, seed, probe, address)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=100, tbl_width_chars=200):
        print(forecast_table(figures))
    for n, change in enumerate(figures["changes"]):
        print(f"{'cheapest change that matters' if n == 0 else 'also'}: {change['message']}")
    if not figures["changes"]:
        print("no change to the judge's settings would compute 1.1x fewer prompt tokens")
    if json_path is not None:
        with open(json_path, "w") as handle:
            json.dump(figures, handle, indent=2)
        print(f"written to {json_path}")
    return 0


def forecast_table(figures: dict[str, Any]) -> pl.DataFrame:
    """figure | judge | value, one row per figure, the job's first."""
    rows = [
        ("input rows", "", f"{figures['rows']:,}"),
        ("sampled rows", "", f"{figures['sampled_rows']:,} (seed {figures['seed']})"),
        ("judgments", "", f"{figures['judgments']:,} (every row prepared)"),
    ]
    for name, judge in figures["judges"].items():
        rows += [(figure, name, value) for figure, value in _judge_rows(judge)]
    probe = figures["probe"]
    if probe is not None:
        rows += _probe_rows(probe)
    return pl.DataFrame(rows, schema=["figure", "judge", "value"], orient="row")


def _judge_rows(judge: dict[str, Any]) -> list[tuple[str, str]]:
    per_row, requests = judge["prompt_tokens_per_row"], judge["requests_per_row"]
    over = judge["rows_over_context"]
    share = judge["prefix_cache_share"]
    padding = "padded" if judge["prefix_padding"] else "no padding"
    examples = f", e.g. ids {over['examples']}" if over["examples"] else ""
    return [
        ("model", judge["model"]),
        ("actors", f"{judge['actors']} ({judge['device']})"),
        ("judgments", f"{judge['judgments']:,}"),
        ("requests per row", f"mean {requests['mean']:g}, max {requests['max']:g}"),
        (
            "prompt tokens per row",
            f"mean {per_row['mean']:g}, p50 {per_row['p50']:g}, p95 {per_row['p95']:g}, "
            f"max {per_row['max']:g}",
        ),
        ("prompt tokens", f"{judge['prompt_tokens']:,}"),
        (
            "served from the prefix cache",
            "n/a"
            if share is None
            else f"{share:.1%} (block_size {judge['block_size']}, {padding})",
        ),
        ("computed prompt tokens", f"{judge['computed_prompt_tokens']:,}"),
        (
            "rows over the context",
            f"{over['sampled']} sampled, about {over['predicted']:,} in all "
            f"(max_model_len {judge['max_model_len']}){examples}",
        ),
    ]


def _probe_rows(probe: dict[str, Any]) -> list[tuple[str, str, str]]:
    predicted = probe["predicted"]
    rows = [
        (
            "probe",
            "",
            f"{probe['rows']} rows: {probe['requests']} requests "
            f"(forecast {probe['requests_forecast']}), {probe['wall_s']:g} s in all",
        ),
        ("probe: served from the prefix cache", "", _share(probe["prefix_cache_share"])),
    ]
    for name, judge in predicted["judges"].items():
        rows += [
            ("judgments/s per actor", name, f"{judge['judgments_per_s_per_actor']:g}"),
            ("engine start", name, f"{judge['engine_start_s']:g} s"),
            ("predicted judging", name, f"{judge['judging_s']:,g} s"),
            (f"{judge['device_hours_kind'].upper()}-hours", name, f"{judge['device_hours']:g}"),
        ]
    cost = predicted["cost"]
    rows += [
        ("predicted wall time", "", f"{predicted['wall_s']:,g} s"),
        ("cost", "", "set judge.price_per_hour" if cost is None else f"{cost:,.4f}"),
    ]
    return rows


def _share(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.1%}"
