"""Where a run's judges disagree: checklist scorers judged by different judges (a scorer's
`judge:`, else the job's own) ask the same question of a sample and answer it differently.
Items are matched by their question text, so two scorers need not number them alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from pipeline.plan import DEFAULT_JUDGE

if TYPE_CHECKING:  # ReviewRun keeps the disagreeing samples it finds here
    from jobs.review.review_run import ReviewRun

SPREAD = "spread"  # of a question's raw confidences across the judges (max - min)


def judges_of(run: ReviewRun) -> dict[str, str]:
    """Each checklist scorer's key -> the name of the judge that answers its items."""
    named = {
        str(raw.get("key")): raw.get("judge") or DEFAULT_JUDGE
        for raw in run.spec.get("definition", {}).get("scorers", [])
    }
    return {s.key: str(named.get(s.key, DEFAULT_JUDGE)) for s in run.item_scorers()}


def has_several_judges(run: ReviewRun) -> bool:
    return len(set(judges_of(run).values())) > 1


def disagreeing_items(run: ReviewRun) -> pl.LazyFrame:
    """Every scorer's item (the `items` columns and SPREAD) of a (sample, question) that the
    judges answered differently; empty when the run has one judge."""
    judges = judges_of(run)
    per_question = [run.id_col, "question"]
    judge = pl.col("scorer").replace_strict(judges, default=None, return_dtype=pl.String)
    items = run.results.items.filter(
        pl.col("scorer").is_in(list(judges)) & pl.col("answer").is_not_null()
    )
    return items.filter(
        (pl.col("answer").n_unique().over(per_question) > 1)
        & (judge.n_unique().over(per_question) > 1)
    ).with_columns(
        (pl.col("confidence").max() - pl.col("confidence").min()).over(per_question).alias(SPREAD)
    )


def disagreeing_samples(run: ReviewRun) -> pl.LazyFrame:
    """The ids (as strings) of the samples where some question got different answers."""
    return disagreeing_items(run).select(pl.col(run.id_col).cast(pl.String)).unique()
