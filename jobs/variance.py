"""`rayscore variance SPEC --rows N`: how much the judge's scores move on repeats and
paraphrases of a sample of rows (pipeline.variance.run)."""

from __future__ import annotations

import polars as pl

from pipeline.spec_loader import load_spec
from pipeline.variance.run import measure_variance


def variance_command(
    spec_path: str, rows: int, seed: int, json_path: str | None, address: str | None
) -> int:
    spread = measure_variance(load_spec(spec_path), rows, seed, ray_address=address)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200):
        print(spread)
    print(repeats_verdict(spread))
    if json_path is not None:
        spread.write_json(json_path)
        print(f"written to {json_path}")
    return 0


def repeats_verdict(spread: pl.DataFrame) -> str:
    """'repeats identical: yes' when every repeat scored twice gave exactly the same value."""
    scored = spread.filter(pl.col("n") > 0)
    if scored.is_empty():
        return "repeats identical: no (no sampled row could be scored; `rayscore run` says why)"
    worst = scored.sort("repeat_max_abs_diff", descending=True).row(0, named=True)
    if worst["repeat_max_abs_diff"] == 0.0:
        return f"repeats identical: yes ({int(scored['n'].sum())} scores, each scored twice)"
    item = "" if worst["item"] is None else f" item {worst['item']}"
    return (
        f"repeats identical: no (largest difference {worst['repeat_max_abs_diff']:.3g}, "
        f"{worst['scorer']}{item})"
    )
