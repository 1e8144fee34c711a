"""Two runs' scores side by side, one row per score that either run has: a scorer's primary
score per sample (its kind's PRIMARY_FIELD), and a checklist item's answer per sample.

Samples are joined on the input's id. Items are paired within each sample (item_pairs): on
their question text (a repeated text by its occurrence), the rest by index where each run has
one item left there (a reworded question, marked `reworded`). The review app pairs --compare
items the same way (paired_items).
An item's score is its answer (yes 1.0, no 0.0, unscored null), so a mean is its pass rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.results import RunResults
from scorers.registry import kinds

PAIRED_SCHEMA = pl.Schema(
    {
        "sample_id": pl.String,
        "scorer": pl.String,  # the scorer's key
        "item": pl.Int32,  # the item's index in run B (else A); null for a primary score
        "question_a": pl.String,
        "question_b": pl.String,
        "in_a": pl.Boolean,
        "in_b": pl.Boolean,
        "score_a": pl.Float64,
        "score_b": pl.Float64,
        "answer_a": pl.String,
        "answer_b": pl.String,
        "confidence_a": pl.Float64,
        "confidence_b": pl.Float64,
    }
)


def paired_scores(a: RunResults, b: RunResults) -> pl.DataFrame:
    """PAIRED_SCHEMA rows: every sample x scorer (that has a primary score) and every sample x
    item of either run, in a fixed order (scorer, item, sample): the means and bootstrap
    intervals over them then do not depend on the order the runs' files were read in."""
    both = pl.concat([_paired_primary(a, b), _paired_items(a, b)], how="diagonal_relaxed")
    paired = both.select(PAIRED_SCHEMA.names()).cast(dict(PAIRED_SCHEMA))
    return paired.sort("scorer", "item", "sample_id", nulls_last=False)


def _id_column(run: RunResults) -> str:
    return str(run.manifest["spec"]["input"]["id_column"])


def primary_fields(run: RunResults) -> dict[str, tuple[str, pl.DataType]]:
    """Scorer key -> the struct field that is its primary score (its kind's PRIMARY_FIELD) and
    that field's type, for the run's scorers whose kind is registered here."""
    registered = kinds()
    schema = run.samples.collect_schema()
    fields = {}
    for scorer in run.manifest.get("scorers", []):
        kind = registered.get(str(scorer.get("type")))
        field = None if kind is None else kind.spec.PRIMARY_FIELD
        dtype = schema.get(scorer["key"])
        present = {f.name: f.dtype for f in dtype.fields} if isinstance(dtype, pl.Struct) else {}
        if field is not None and field in present:
            fields[scorer["key"]] = (field, present[field])
    return fields


def primary_scores(run: RunResults) -> dict[str, pl.Expr]:
    """Scorer key -> its primary score as a number (a boolean's 1.0/0.0), for the scorers whose
    primary field is a number or a boolean (not a label)."""
    return {
        key: _as_score(pl.col(key).struct.field(field), dtype)
        for key, (field, dtype) in primary_fields(run).items()
        if dtype != pl.String
    }


def _primary_scores(run: RunResults) -> pl.LazyFrame:
    """sample_id, scorer, score, answer: one row per sample x scorer. A numeric primary field
    is the score; a text one (a label) the answer; a boolean one both (1.0/0.0, true/false)."""
    sample_id = pl.col(_id_column(run)).cast(pl.String).alias("sample_id")
    frames = [
        run.samples.select(
            sample_id,
            pl.lit(key).alias("scorer"),
            _as_score(pl.col(key).struct.field(field), dtype).alias("score"),
            _as_answer(pl.col(key).struct.field(field), dtype).alias("answer"),
        )
        for key, (field, dtype) in primary_fields(run).items()
    ]
    empty = {"sample_id": pl.String, "scorer": pl.String, "score": pl.Float64, "answer": pl.String}
    return pl.concat(frames) if frames else pl.LazyFrame(schema=empty)


def _as_score(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return pl.lit(None, pl.Float64) if dtype == pl.String else value.cast(pl.Float64)


def _as_answer(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return value.cast(pl.String) if dtype in (pl.String, pl.Boolean) else pl.lit(None, pl.String)


def _paired_primary(a: RunResults, b: RunResults) -> pl.DataFrame:
    side_a = _primary_scores(a).with_columns(pl.lit(True).alias("in_a"))
    side_b = _primary_scores(b).with_columns(pl.lit(True).alias("in_b"))
    return (
        side_a.join(side_b, on=["sample_id", "scorer"], how="full", coalesce=True, suffix="_b")
        .rename({"score": "score_a", "answer": "answer_a"})
        .with_columns(pl.col("in_a", "in_b").fill_null(False))
        .collect()
    )


def _items(run: RunResults, sample_ids: Sequence[str] | None = None) -> pl.LazyFrame:
    """sample_id, scorer, index, question, answer, confidence, score per item of the run (of
    the samples in `sample_ids` when given)."""
    names = run.items.collect_schema().names()
    if "question" not in names:
        return pl.LazyFrame(
            schema={
                "sample_id": pl.String,
                "scorer": pl.String,
                "index": pl.Int32,
                "question": pl.String,
                "answer": pl.String,
                "confidence": pl.Float64,
                "score": pl.Float64,
            }
        )
    answer = pl.col("answer")
    score = pl.when(answer == "yes").then(1.0).when(answer == "no").then(0.0)
    items = run.items.select(
        pl.col(_id_column(run)).cast(pl.String).alias("sample_id"),
        "scorer",
        pl.col("index").cast(pl.Int32),
        "question",
        "answer",
        "confidence",
        score.alias("score"),
    )
    return items if sample_ids is None else items.filter(pl.col("sample_id").is_in(sample_ids))


def item_pairs(items_a: pl.DataFrame, items_b: pl.DataFrame) -> pl.DataFrame:
    """Which item of A is which of B, sample by sample. Each side has one row per sample x
    item: sample_id, scorer, index, question and any value columns; the result has sample_id,
    scorer and, suffixed _a and _b, every other column of each side (nulls for an item the
    other side lacks).

    Within a sample and scorer, items pair on their question text, the n-th repeat of a text
    with the n-th (by index); the rest pair by index where each side has one item left there
    (a reworded question)."""
    side_a, side_b = _one_side(items_a, "a"), _one_side(items_b, "b")
    same_text = ["sample_id", "scorer", "text", "occurrence"]
    matched = side_a.join(side_b, on=same_text, how="inner").drop("text", "occurrence")
    rest_a = _alone_at_index(side_a.join(matched, on="row_a", how="anti"), "a")
    rest_b = _alone_at_index(side_b.join(matched, on="row_b", how="anti"), "b")
    reworded = rest_a.join(rest_b, on=["sample_id", "scorer", "position"], how="inner")
    paired = pl.concat([matched, reworded.drop("position")], how="diagonal_relaxed")
    unpaired = [
        side_a.join(paired, on="row_a", how="anti"),
        side_b.join(paired, on="row_b", how="anti"),
    ]
    every = pl.concat([paired, *unpaired], how="diagonal_relaxed")
    return every.drop("row_a", "row_b", "text", "occurrence", strict=False)


def _one_side(items: pl.DataFrame, side: str) -> pl.DataFrame:
    """The side's columns suffixed, with its question as `text`, which repeat of that text in
    its sample the item is (`occurrence`) and a row number to find it again."""
    values = [c for c in items.columns if c not in ("sample_id", "scorer")]
    return items.with_columns(
        pl.col("question").alias("text"),
        pl.col("index").rank("ordinal").over("sample_id", "scorer", "question").alias("occurrence"),
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(f"row_{side}"),
    ).rename({c: f"{c}_{side}" for c in values})


def _alone_at_index(rest: pl.DataFrame, side: str) -> pl.DataFrame:
    """The unmatched items of one side that are its only unmatched one at their sample x
    scorer x index, with that index as `position`."""
    index = pl.col(f"index_{side}")
    return (
        rest.drop("text", "occurrence")
        .filter(pl.len().over("sample_id", "scorer", index) == 1)
        .with_columns(index.alias("position"))
    )


def paired_items(
    a: RunResults, b: RunResults, sample_ids: Sequence[str] | None = None
) -> pl.DataFrame:
    """Each sample's checklist items of run A beside the same item of run B (item_pairs):
    sample_id, scorer, index_a/_b, question_a/_b, answer_a/_b, confidence_a/_b, score_a/_b,
    in_a, in_b; only the samples in `sample_ids` when given."""
    pairs = item_pairs(_items(a, sample_ids).collect(), _items(b, sample_ids).collect())
    return pairs.with_columns(
        pl.col("index_a").is_not_null().alias("in_a"),
        pl.col("index_b").is_not_null().alias("in_b"),
    )


def _paired_items(a: RunResults, b: RunResults) -> pl.DataFrame:
    """paired_items, an item of one run only named as its pair is named in the other run's
    samples (so that it counts in that pair's only_a/only_b), where that pair is the one."""
    pairs = paired_items(a, b)
    return _named_as_paired(_named_as_paired(pairs, "a", "b"), "b", "a").with_columns(
        pl.coalesce("index_b", "index_a").alias("item")
    )


def _named_as_paired(pairs: pl.DataFrame, side: str, other: str) -> pl.DataFrame:
    """For the items of `side` only: the other side's index and question from the one pair
    (over all samples) with the same scorer, index and question on `side`."""
    own = ["scorer", f"index_{side}", f"question_{side}"]
    names = {f"index_{other}": "other_index", f"question_{other}": "other_question"}
    labels = (
        pairs.filter(pl.col("in_a") & pl.col("in_b"))
        .select(*own, *names)
        .unique()
        .filter(pl.len().over(own) == 1)
        .rename(names)
    )
    alone = pl.col(f"in_{side}") & ~pl.col(f"in_{other}")
    return (
        pairs.join(labels, on=own, how="left")
        .with_columns(
            pl.when(alone).then(pl.col(new)).otherwise(pl.col(old)).alias(old)
            for old, new in names.items()
        )
        .drop(*names.values())
    )


def compared_item_indices(
    a: RunResults, b: RunResults, sample_id: str
) -> dict[str, dict[int, int]]:
    """One sample's paired items (paired_items): scorer key -> {index in A: index in B}."""
    pairs = paired_items(a, b, [sample_id]).filter(pl.col("in_a") & pl.col("in_b"))
    indices: dict[str, dict[int, int]] = {}
    for scorer, index_a, index_b in pairs.select("scorer", "index_a", "index_b").iter_rows():
        indices.setdefault(scorer, {})[index_a] = index_b
    return indices


def items_changed(
    a: RunResults, b: RunResults, sample_ids: Sequence[str] | None = None
) -> pl.DataFrame:
    """sample_id, changed: whether a checklist item of the sample is in one run only or
    answered differently (paired_items), for every sample with items in either run."""
    differs = (pl.col("in_a") != pl.col("in_b")) | pl.col("answer_a").ne_missing(pl.col("answer_b"))
    return paired_items(a, b, sample_ids).group_by("sample_id").agg(differs.any().alias("changed"))
