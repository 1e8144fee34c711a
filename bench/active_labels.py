"""active_labels: does the review app's label queue (jobs.review.label_queue) choose labels that
teach the calibration more than labels chosen at random? On a finished demo run, the demo
data's human labels (`human_item_<n>`) play the annotators: of the labelled checklist items
outside the calibration holdout (scorers.calibration.in_holdout, as a run splits them), the
queue picks 5%, 10%, 20%, 40%, and random choice (several seeds) picks the same number and
twice as many; each choice fits a calibrator (scorers.calibration.fit_calibrator) and is
measured by its ECE on the held-out labelled items.

The figure is the smallest share from which on the queue's ECE is at most what random choice
reaches with twice as many labels (1.0 when it is not at 40%); the peer is random's mean ECE
per share.

    .venv/bin/python -m bench.active_labels [--rows 2000] [--seeds 5] [--run DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.plan_accuracy import demo_spec
from bench.rayscore_job import run_job
from bench.result import print_result
from jobs.demo.checklist_task import QUESTIONS
from jobs.demo.demo_data import write_demo_data
from jobs.review.label_queue import label_queue
from jobs.review.review_run import ReviewRun, open_review
from pipeline.calibration import CalibrationSpec
from scorers.agreement import expected_calibration_error
from scorers.calibration import Method, apply_calibrator, fit_calibrator, in_holdout

SHARES = (0.05, 0.10, 0.20, 0.40)
TARGET = 0.40  # the queue matches random with twice the labels at one of the shares at least
KEY = ["sample_id", "scorer", "index"]


def labelled_items(review: ReviewRun, data: str) -> pl.DataFrame:
    """Every judged checklist item the demo's humans labelled: sample_id, scorer, index,
    confidence (raw), human (bool), held_out."""
    human = (
        pl.read_parquet(data, columns=["id", *(f"human_item_{n}" for n in range(len(QUESTIONS)))])
        .unpivot(index="id", variable_name="column", value_name="human")
        .drop_nulls("human")
        .select(
            pl.col("id").cast(pl.String).alias("sample_id"),
            pl.col("column").str.strip_prefix("human_item_").cast(pl.Int32).alias("index"),
            "human",
        )
    )
    pairs = (
        review.results.items.filter(pl.col("confidence").is_not_null())
        .select(
            pl.col(review.id_col).cast(pl.String).alias("sample_id"),
            "scorer",
            pl.col("index").cast(pl.Int32),
            "confidence",
        )
        .collect()
        .join(human, on=["sample_id", "index"])
        .sort(KEY)
    )
    calibration = CalibrationSpec.model_validate(review.spec.get("calibration") or {})
    holdout = calibration.holdout  # the run's, as its calibration split the labelled samples
    return pairs.with_columns(held_out=pl.Series(in_holdout(pairs["sample_id"], holdout)))


def restricted_to(review: ReviewRun, pool: pl.DataFrame) -> ReviewRun:
    """The run as the queue sees it when only `pool`'s items can be labelled."""
    id_col = review.id_col
    allowed = pool.select(pl.col("sample_id").alias(id_col), "scorer", "index").lazy()
    items = review.results.items.with_columns(
        pl.col(id_col).cast(pl.String), pl.col("index").cast(pl.Int32)
    ).join(allowed, on=[id_col, "scorer", "index"], how="semi")
    return dataclasses.replace(review, results=dataclasses.replace(review.results, items=items))


def queue_choice(review: ReviewRun, pool: pl.DataFrame, count: int) -> pl.DataFrame:
    entries = label_queue(restricted_to(review, pool), size=count)
    chosen = pl.DataFrame(
        {
            "sample_id": [e.sample_id for e in entries],
            "scorer": [e.scorer for e in entries],
            "index": [e.index for e in entries],
        },
        schema={"sample_id": pl.String, "scorer": pl.String, "index": pl.Int32},
    )
    return pool.join(chosen, on=KEY, how="semi")


def held_out_ece(fit_rows: pl.DataFrame, test: pl.DataFrame, method: Method) -> float | None:
    """ECE on `test` of a calibrator fitted to `fit_rows`; None when they cannot fit one."""
    if fit_rows.height < 2 or fit_rows["human"].n_unique() < 2:
        return None
    calibrator = fit_calibrator(fit_rows["confidence"], fit_rows["human"], method)
    calibrated = apply_calibrator(calibrator, test["confidence"].to_numpy())
    return expected_calibration_error(test["human"].to_numpy().astype(float), calibrated)


def mean_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(float(np.mean(known)), 4) if known else None


def compare(
    review: ReviewRun, data: str, seeds: int, method: Method
) -> tuple[dict[str, Any], dict[str, Any]]:
    items = labelled_items(review, data)
    pool = items.filter(~pl.col("held_out"))
    test = items.filter(pl.col("held_out"))
    counts = {share: max(2, round(share * pool.height)) for share in SHARES}
    queue = {
        share: held_out_ece(queue_choice(review, pool, count), test, method)
        for share, count in counts.items()
    }
    random_shares = sorted({*SHARES, *(min(2 * s, 1.0) for s in SHARES)})
    random: dict[float, float | None] = {}
    for share in random_shares:
        count = min(pool.height, max(2, round(share * pool.height)))
        runs = [
            held_out_ece(pool.sample(count, seed=seed, shuffle=True), test, method)
            for seed in range(seeds)
        ]
        random[share] = mean_or_none(runs)
    figures = {
        "labelled_items": items.height,
        "fit_pool": pool.height,
        "held_out": test.height,
        "label_counts": {f"{s:.0%}": c for s, c in counts.items()},
        "uncalibrated_ece": round(
            expected_calibration_error(
                test["human"].to_numpy().astype(float), test["confidence"].to_numpy()
            ),
            4,
        ),
        "queue_ece": {f"{s:.0%}": None if v is None else round(v, 4) for s, v in queue.items()},
    }
    return figures, {f"{s:.0%}": v for s, v in random.items()}


def smallest_winning_share(figures: dict[str, Any], random: dict[str, Any]) -> float:
    """The smallest share from which on (at it and every larger share) the queue's ECE is at
    most random's with twice the labels: a lone win at a small share, where a few labels
    make either choice's ECE noisy, does not count."""
    found = 1.0
    for share in sorted(SHARES, reverse=True):
        mine = figures["queue_ece"][f"{share:.0%}"]
        theirs = random.get(f"{min(2 * share, 1.0):.0%}")
        if mine is None or theirs is None or mine > theirs:
            break
        found = share
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", help="a finished demo run to read (else one is made)")
    parser.add_argument("--rows", type=int, default=2000, help="demo rows when making the run")
    parser.add_argument("--seeds", type=int, default=5, help="random choices per share")
    parser.add_argument("--method", choices=["isotonic", "platt"], default="isotonic")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run
        if run_dir is None:
            work = Path(tmp)
            spec = demo_spec(write_demo_data(work / "demo.parquet", n_rows=args.rows))
            run_dir = str(run_job(spec, work, "run").out)
        review = open_review(run_dir, author="active_labels bench")
        data = str(review.spec["input"]["path"])
        figures, random = compare(review, data, args.seeds, args.method)
    value = smallest_winning_share(figures, random)
    print_result(
        "active_labels",
        value,
        TARGET,
        "lower",
        "smallest share of the labelled items from which on the queue's held-out ECE is at "
        "most random choice's with twice as many labels",
        {"random (mean ECE over seeds, by share)": random},
        method=args.method,
        seeds=args.seeds,
        run=args.run or f"made: {args.rows} demo rows",
        **figures,
    )


if __name__ == "__main__":
    main()
