"""The label queue: the checklist items whose labels teach the calibration most, that this
reviewer has not labelled yet. A tenth are the uncertain ones (raw confidence nearest the
answer threshold, where a calibrator is least sure which side a label falls); in a run with
several judges a quarter are items the judges answered differently (widest confidence spread
first, jobs.review.judge_disagreement); the rest are a stratified sample over ten confidence
bins, each bin's share of the labels growing with its share of the items as n^(2/3): the
allocation that minimises the expected calibration error when a bin's error weighs by its
items and shrinks as 1/sqrt(its labels) (proportional allocation would starve the sparse
bins, an even one the dense bins that most of the error lies in). The share counts the labels
a bin already has, so labelling moves the queue to the bins still short. Within a bin the
order is a hash of (sample, item): stable across requests, unrelated to row order; across
bins it is the highest-averages (Sainte-Laguë) order, so any prefix of the queue keeps the
allocation.

Choosing reads every item of the run once; the choice is kept as pools (uncertain, disagreeing
and spread over the bins; an item may be in several), each POOL_FACTOR times its share of the
queue, that each request only thins of what was labelled since; they are chosen again when one
runs low."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import polars as pl

from jobs.review.judge_disagreement import SPREAD, disagreeing_items, has_several_judges
from jobs.review.review_run import ReviewRun

THRESHOLD = 0.5  # P(yes) at which an item's answer turns from no to yes
BINS = 10  # confidence bins the stratified share spreads over (the reliability curve's)
UNCERTAIN_SHARE = 0.1  # of the queue
ALLOCATION_POWER = 2 / 3  # a bin's share of the labels grows as (its items)^ALLOCATION_POWER
ORDER_SEED = 0  # of the hash that orders the items within a bin
POOL_FACTOR = 20
DISAGREE_SHARE = 0.25  # of the queue, in a run with several judges
UNCERTAIN = "uncertain"
DISAGREE = "judges disagree"


@dataclass(frozen=True)
class QueueEntry:
    sample_id: str
    scorer: str
    index: int
    name: str  # the label's score name
    question: str | None
    answer: str | None
    confidence: float
    why: str  # "uncertain", "judges disagree", or the confidence bin it covers


class LabelQueue:
    def __init__(self, run: ReviewRun, size: int = 20) -> None:
        self.run = run
        self.size = size
        self.pool: pl.DataFrame | None = None
        self.wanted: dict[str, int] = {}  # per pool: what the queue takes of it, as chosen
        self.lock = threading.Lock()

    def entries(self, author: str | None = None) -> list[QueueEntry]:
        """The next `size` items for `author` (default: --author) to label: uncertain ones,
        then disagreeing, then the bins; each reviewer has a queue of their own."""
        if not self.run.item_scorers():
            return []
        author = author or self.run.author
        labelled = self._labelled(author)  # every label part read once per request
        with self.lock:
            left = self._unlabelled(self.pool, labelled) if self.pool is not None else None
            if left is None or _short(left, self.wanted, self.size):
                self.pool = _choose(self.run, labelled, self.size * POOL_FACTOR)
                self.wanted = _wanted(self.pool, self.size, has_several_judges(self.run))
                left = self.pool
        key = [self.run.id_col, "name"]
        taken = left.clear()
        for why in (UNCERTAIN, DISAGREE):
            picked = (
                left.filter(pl.col("why") == why)
                .join(taken.select(key), on=key, how="anti", maintain_order="left")
                .head(self.wanted.get(why, 0))
            )
            taken = pl.concat([taken, picked])
        spread = (
            left.filter(~pl.col("why").is_in([UNCERTAIN, DISAGREE]))
            .join(taken.select(key), on=key, how="anti", maintain_order="left")
            .head(self.size - taken.height)
        )
        return [_entry(row, self.run.id_col) for row in pl.concat([taken, spread]).to_dicts()]

    def _labelled(self, author: str) -> pl.DataFrame:
        given = self.run.store.answers(author)
        return given.select(pl.col("sample_id").alias(self.run.id_col), "name")

    def _unlabelled(self, pool: pl.DataFrame, labelled: pl.DataFrame) -> pl.DataFrame:
        return pool.join(labelled, on=[self.run.id_col, "name"], how="anti", maintain_order="left")


def label_queue(run: ReviewRun, size: int = 20) -> list[QueueEntry]:
    """The queue chosen afresh (what LabelQueue keeps between requests)."""
    return LabelQueue(run, size).entries()


def _wanted(pool: pl.DataFrame, size: int, several_judges: bool) -> dict[str, int]:
    """How many the queue takes of the uncertain and the disagreeing pools: their share, or
    all a pool holds when it was chosen short (a run with few disagreements)."""
    shares = {UNCERTAIN: UNCERTAIN_SHARE, DISAGREE: DISAGREE_SHARE if several_judges else 0.0}
    held = pool["why"].value_counts()
    counts = dict(zip(held["why"].to_list(), held["count"].to_list(), strict=True))
    return {
        why: min(max(1, round(size * share)) if share else 0, counts.get(why, 0))
        for why, share in shares.items()
    }


def _short(left: pl.DataFrame, wanted: dict[str, int], size: int) -> bool:
    held = {why: int((left["why"] == why).sum()) for why in wanted}
    spread = left.height - sum(held.values())
    return any(held[why] < n for why, n in wanted.items()) or spread < size - sum(wanted.values())


def _choose(run: ReviewRun, labelled: pl.DataFrame, pool: int) -> pl.DataFrame:
    id_col = run.id_col
    columns = [
        pl.col(id_col).cast(pl.String),
        "scorer",
        "index",
        run.item_label_name().alias("name"),
        "question",
        "answer",
        "confidence",
    ]
    items = (
        run.results.items.filter(pl.col("confidence").is_not_null())
        .select(columns)
        .join(labelled.lazy(), on=[id_col, "name"], how="anti")
    )
    n_uncertain = max(1, round(pool * UNCERTAIN_SHARE))
    uncertain = (
        items.with_columns((pl.col("confidence") - THRESHOLD).abs().alias("_distance"))
        .sort("_distance", id_col, "index")
        .head(n_uncertain)
        .drop("_distance")
        .with_columns(pl.lit(UNCERTAIN).alias("why"))
    )
    chosen = [uncertain, _stratified(run, items, labelled, pool - n_uncertain)]
    if has_several_judges(run):
        chosen.append(
            disagreeing_items(run)
            .filter(pl.col("confidence").is_not_null())
            .select(*columns, SPREAD)
            .join(labelled.lazy(), on=[id_col, "name"], how="anti")
            .sort(SPREAD, id_col, "index", descending=[True, False, False])
            .head(round(pool * DISAGREE_SHARE))
            .drop(SPREAD)
            .with_columns(pl.lit(DISAGREE).alias("why"))
        )
    # collected together, so the scan of the items the three share is read once
    uncertain_items, stratified, *disagree = pl.collect_all(chosen)
    return pl.concat([uncertain_items, *disagree, stratified])


def _stratified(
    run: ReviewRun, unlabelled: pl.LazyFrame, labelled: pl.DataFrame, count: int
) -> pl.LazyFrame:
    """`count` unlabelled items over the confidence bins: a bin's turns come at
    (labels it holds + k - 1/2) / its allocation weight, for its k-th item in hash order, and
    the earliest turns are taken, so the labels (given and queued) follow the weights."""
    id_col = run.id_col
    bin_of = (pl.col("confidence") * BINS).floor().clip(0, BINS - 1).cast(pl.Int32)
    judged = run.results.items.filter(pl.col("confidence").is_not_null()).select(
        pl.col(id_col).cast(pl.String), run.item_label_name().alias("name"), bin_of.alias("_bin")
    )
    weights = judged.group_by("_bin").agg(
        (pl.len().cast(pl.Float64) ** ALLOCATION_POWER).alias("_weight")
    )
    held = (
        judged.join(labelled.lazy(), on=[id_col, "name"], how="semi")
        .group_by("_bin")
        .agg(pl.len().alias("_held"))
    )
    return (
        unlabelled.with_columns(
            bin_of.alias("_bin"), pl.concat_str(id_col, "name").hash(seed=ORDER_SEED).alias("_hash")
        )
        .group_by("_bin")
        .agg(pl.all().top_k_by("_hash", count, reverse=True))
        .explode(pl.all().exclude("_bin"))
        .join(weights, on="_bin")
        .join(held, on="_bin", how="left")
        .with_columns(
            (
                (pl.col("_held").fill_null(0) + pl.col("_hash").rank("ordinal").over("_bin") - 0.5)
                / pl.col("_weight")
            ).alias("_turn")
        )
        .sort("_turn", "_bin")
        .head(count)
        .with_columns(
            pl.format(
                "confidence {}–{}",
                (pl.col("_bin") / BINS).round(2),
                ((pl.col("_bin") + 1) / BINS).round(2),
            ).alias("why")
        )
        .drop("_bin", "_hash", "_weight", "_held", "_turn")
    )


def _entry(row: dict[str, object], id_col: str) -> QueueEntry:
    return QueueEntry(
        sample_id=str(row[id_col]),
        scorer=str(row["scorer"]),
        index=int(row["index"]),  # type: ignore[call-overload]
        name=str(row["name"]),
        question=None if row["question"] is None else str(row["question"]),
        answer=None if row["answer"] is None else str(row["answer"]),
        confidence=float(row["confidence"]),  # type: ignore[arg-type]
        why=str(row["why"]),
    )
