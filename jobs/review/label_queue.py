"""The label queue: the checklist items whose labels teach the calibration most, that this
reviewer has not labelled yet. First the uncertain ones (raw confidence nearest the answer
threshold, where a calibrator is least sure which side a label falls), then a stratified share:
round-robin across confidence bins, so the reliability curve is covered end to end. Within a
bin the order is a hash of (sample, item): stable across requests, unrelated to row order."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from jobs.review.review_run import ReviewRun

THRESHOLD = 0.5  # P(yes) at which an item's answer turns from no to yes
BINS = 10  # confidence bins the stratified share spreads over (the reliability curve's)
UNCERTAIN_SHARE = 0.5  # of the queue


@dataclass(frozen=True)
class QueueEntry:
    sample_id: str
    scorer: str
    index: int
    name: str  # the label's score name
    question: str | None
    answer: str | None
    confidence: float
    why: str  # "uncertain", or the confidence bin it covers


def label_queue(run: ReviewRun, size: int = 20) -> list[QueueEntry]:
    id_col = run.id_col
    if not run.item_scorers():
        return []
    labelled = run.store.current().filter(pl.col("author") == run.author)
    items = (
        run.results.items.filter(pl.col("confidence").is_not_null())
        .select(
            pl.col(id_col).cast(pl.String),
            "scorer",
            "index",
            run.item_label_name().alias("name"),
            "question",
            "answer",
            "confidence",
        )
        .join(labelled.lazy().select(id_col, "name"), on=[id_col, "name"], how="anti")
    )
    n_uncertain = max(1, round(size * UNCERTAIN_SHARE))
    uncertain = (
        items.with_columns((pl.col("confidence") - THRESHOLD).abs().alias("_distance"))
        .sort("_distance", id_col, "index")
        .head(n_uncertain)
        .drop("_distance")
        .with_columns(pl.lit("uncertain").alias("why"))
        .collect()
    )
    bin_of = (pl.col("confidence") * BINS).floor().clip(0, BINS - 1).cast(pl.Int32)
    stratified = (
        items.join(uncertain.lazy().select(id_col, "name"), on=[id_col, "name"], how="anti")
        .with_columns(
            bin_of.alias("_bin"), pl.concat_str(id_col, "name").hash(seed=0).alias("_hash")
        )
        .with_columns(pl.col("_hash").rank("ordinal").over("_bin").alias("_turn"))
        .filter(pl.col("_turn") <= size)
        .sort("_turn", "_bin")
        .head(size - uncertain.height)
        .with_columns(
            pl.format("confidence {}–{}", pl.col("_bin") / BINS, (pl.col("_bin") + 1) / BINS).alias(
                "why"
            )
        )
        .drop("_bin", "_hash", "_turn")
        .collect()
    )
    return [
        QueueEntry(
            sample_id=row[id_col],
            scorer=row["scorer"],
            index=int(row["index"]),
            name=row["name"],
            question=row["question"],
            answer=row["answer"],
            confidence=float(row["confidence"]),
            why=row["why"],
        )
        for row in pl.concat([uncertain, stratified]).to_dicts()
    ]
