"""bench/active_labels on a hand-made run (no judge): the queue's and random choice's labels
come from the data's human_item_<n> columns, only from outside the holdout, and the figure
counts a win only when it holds at every larger share."""

from __future__ import annotations

import polars as pl
from review_runs import QUESTIONS, N, confidence, make_run

from bench.active_labels import SHARES, compare, labelled_items, smallest_winning_share
from jobs.review.review_run import open_review


def human_labels(path: str) -> str:
    """A "yes" where the judge's confidence is at least 0.4 (so it is miscalibrated), for
    every item of the even samples; odd samples are unlabelled."""
    columns = {
        f"human_item_{i}": [confidence(n, i) >= 0.4 if n % 2 == 0 else None for n in range(N)]
        for i in range(len(QUESTIONS))
    }
    pl.DataFrame({"id": [f"r{n}" for n in range(N)], **columns}).with_columns(
        pl.lit(None, pl.Boolean).alias("human_item_3")  # the demo's fourth question: no item
    ).write_parquet(path)
    return path


def test_only_labelled_items_count_and_the_holdout_is_kept_out_of_every_choice(tmp_path):
    make_run(tmp_path / "run")
    review = open_review(str(tmp_path / "run"), author="bench")
    data = human_labels(str(tmp_path / "data.parquet"))
    items = labelled_items(review, data)
    assert set(items["sample_id"].str.slice(1).cast(pl.Int32) % 2) == {0}
    assert 0 < items["held_out"].sum() < items.height
    figures, random = compare(review, data, seeds=2, method="isotonic")
    assert figures["fit_pool"] + figures["held_out"] == figures["labelled_items"] == items.height
    assert list(figures["label_counts"].values()) == [
        max(2, round(s * figures["fit_pool"])) for s in SHARES
    ]
    assert set(random) == {"5%", "10%", "20%", "40%", "80%"}
    assert figures["queue_ece"]["40%"] < figures["uncalibrated_ece"]


def test_a_win_counts_only_when_it_holds_at_every_larger_share():
    random = {"5%": 0.2, "10%": 0.1, "20%": 0.08, "40%": 0.05, "80%": 0.03}
    wins_from_20 = {"5%": 0.09, "10%": 0.2, "20%": 0.04, "40%": 0.02}
    assert smallest_winning_share({"queue_ece": wins_from_20}, random) == 0.20
    loses_at_40 = {"5%": 0.01, "10%": 0.01, "20%": 0.01, "40%": 0.04}
    assert smallest_winning_share({"queue_ece": loses_at_40}, random) == 1.0
