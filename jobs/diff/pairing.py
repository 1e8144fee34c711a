"""Two runs' scores side by side, one row per score that either run has: a scorer's primary
score per sample (its kind's PRIMARY_FIELD), and a checklist item's answer per sample.

Samples are joined on the input's id. Items are joined on the id and the item's question
text; an item whose question is in one run only is paired with the other run's item at the
same index when that one's question is also in one run only, and marked `reworded`.
An item's score is its answer (yes 1.0, no 0.0, unscored null), so a mean is its pass rate.
"""

from __future__ import annotations

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
    item of either run."""
    both = pl.concat([_paired_primary(a, b), _paired_items(a, b)], how="diagonal_relaxed")
    return both.select(PAIRED_SCHEMA.names()).cast(dict(PAIRED_SCHEMA))


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


def _items(run: RunResults) -> pl.LazyFrame:
    """sample_id, scorer, index, question, answer, confidence, score per item of the run."""
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
    return run.items.select(
        pl.col(_id_column(run)).cast(pl.String).alias("sample_id"),
        "scorer",
        pl.col("index").cast(pl.Int32),
        "question",
        "answer",
        "confidence",
        score.alias("score"),
    )


def item_matches(questions_a: pl.DataFrame, questions_b: pl.DataFrame) -> pl.DataFrame:
    """Which item of A is which of B: scorer, index_a, question_a, index_b, question_b (from
    each run's distinct scorer x index x question); an item of one run only has nulls for the
    other."""
    same = questions_a.join(questions_b, on=["scorer", "question"], how="full", suffix="_b")
    same = same.with_columns(
        pl.coalesce("scorer", "scorer_b").alias("scorer"),
        pl.when(pl.col("index").is_not_null()).then(pl.col("question")).alias("question_a"),
        pl.when(pl.col("index_b").is_not_null()).then(pl.col("question_b")).alias("question_b"),
    ).select("scorer", pl.col("index").alias("index_a"), "question_a", "index_b", "question_b")
    matched = same.filter(pl.col("index_a").is_not_null() & pl.col("index_b").is_not_null())
    only_a = _alone_at_index(same.filter(pl.col("index_b").is_null()), "a")
    only_b = _alone_at_index(same.filter(pl.col("index_a").is_null()), "b")
    reworded = only_a.join(only_b, left_on=["scorer", "index_a"], right_on=["scorer", "index_b"])
    reworded = reworded.with_columns(pl.col("index_a").alias("index_b"))
    paired_a = reworded.select("scorer", "index_a", "question_a")
    paired_b = reworded.select("scorer", "index_b", "question_b")
    unpaired = [
        same.filter(pl.col("index_b").is_null()).join(
            paired_a, on=["scorer", "index_a", "question_a"], how="anti"
        ),
        same.filter(pl.col("index_a").is_null()).join(
            paired_b, on=["scorer", "index_b", "question_b"], how="anti"
        ),
    ]
    return pl.concat([matched, reworded.select(same.columns), *unpaired])


def _alone_at_index(unmatched: pl.DataFrame, side: str) -> pl.DataFrame:
    """The unmatched questions of one side that are the only one at their scorer x index."""
    index, question = f"index_{side}", f"question_{side}"
    return unmatched.select("scorer", index, question).filter(pl.len().over("scorer", index) == 1)


def _paired_items(a: RunResults, b: RunResults) -> pl.DataFrame:
    items_a, items_b = _items(a).collect(), _items(b).collect()
    keys = ["scorer", "index", "question"]
    matches = item_matches(items_a.select(keys).unique(), items_b.select(keys).unique())
    side_a = items_a.rename({"index": "index_a", "question": "question_a"}).join(
        matches, on=["scorer", "index_a", "question_a"], how="inner"
    )
    side_b = items_b.rename({"index": "index_b", "question": "question_b"}).join(
        matches, on=["scorer", "index_b", "question_b"], how="inner"
    )
    pair = ["sample_id", "scorer", "index_a", "index_b", "question_a", "question_b"]
    value_columns = ["score", "answer", "confidence"]
    joined = side_a.select(*pair, *value_columns, pl.lit(True).alias("in_a")).join(
        side_b.select(*pair, *value_columns, pl.lit(True).alias("in_b")),
        on=pair,
        how="full",
        coalesce=True,
        nulls_equal=True,
        suffix="_b",
    )
    return joined.rename({c: f"{c}_a" for c in value_columns}).with_columns(
        pl.coalesce("index_b", "index_a").alias("item"),
        pl.col("in_a", "in_b").fill_null(False),
    )
