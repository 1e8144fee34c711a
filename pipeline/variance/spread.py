"""How much a score moves when nothing that matters changes: the same sample scored twice
(repeats), and the same question asked in other words (paraphrases).

The input is one row per sampled row x copy x scorer x item (`SCORES_SCHEMA`); the output one
row per scorer x item (item null for a scorer with one scalar score). Paraphrase copies hold
only the item's real paraphrases: an item with two paraphrases has copy_index 0 and 1.
"""

from __future__ import annotations

import polars as pl

REPEAT = "repeat"
PARAPHRASE = "paraphrase"

SCORES_SCHEMA = pl.Schema(
    {
        "source_id": pl.String,  # the sampled row's id
        "copy": pl.String,  # REPEAT or PARAPHRASE
        "copy_index": pl.Int32,  # repeat 0/1; paraphrase k (the item's k-th paraphrase)
        "scorer": pl.String,
        "item": pl.Int32,  # checklist item index; null for a scalar score
        "question": pl.String,  # as asked in this copy
        "value": pl.Float64,  # the item's confidence, or the scalar score
        "answer": pl.String,  # yes/no, or the scorer's label
    }
)
ITEM = ["scorer", "item"]

_value = pl.col("value")
_answer = pl.col("answer")
_is_paraphrase = pl.col("copy") == PARAPHRASE


def _is_repeat(n: int) -> pl.Expr:
    return (pl.col("copy") == REPEAT) & (pl.col("copy_index") == n)


def score_spread(scores: pl.DataFrame) -> pl.DataFrame:
    """Per scorer x item:

    question             the original wording, when every row asks the same one
    n                    rows whose two repeats both have a value
    repeat_max_abs_diff  max over rows of |value repeat-0 - value repeat-1|
    repeat_identical     share of those rows where the two values are exactly equal
    paraphrases          how many paraphrases the item has
    paraphrase_std       mean over rows of the std (ddof=0) of the values of the original
                         wording (repeat-0) and its paraphrases
    paraphrase_range     mean over rows of (max - min) of those values
    answer_flip_rate     share of rows where some paraphrase's answer differs from the
                         original's
    """
    return (
        _per_row(scores.select(SCORES_SCHEMA.names()).cast(dict(SCORES_SCHEMA)))
        .group_by(ITEM)
        .agg(
            _shared_question(),
            pl.col("both_repeats").sum().cast(pl.Int64).alias("n"),
            (pl.col("first") - pl.col("second")).abs().max().alias("repeat_max_abs_diff"),
            (pl.col("first") == pl.col("second")).mean().alias("repeat_identical"),
            pl.col("paraphrases").max().fill_null(0).cast(pl.Int64),
            pl.col("wording_std").mean().alias("paraphrase_std"),
            pl.col("wording_range").mean().alias("paraphrase_range"),
            pl.col("flipped").mean().alias("answer_flip_rate"),
        )
        .sort(ITEM, nulls_last=False)
    )


def _shared_question() -> pl.Expr:
    """The item's question when every row asks the same one (per-row checklists differ)."""
    question = pl.col("question").drop_nulls()
    return pl.when(question.n_unique() == 1).then(question.first()).alias("question")


def _per_row(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per scorer x item x sampled row: its repeats and the spread of its wordings
    (null where the row has no scored paraphrase)."""
    wordings = _value.filter(_is_repeat(0) | _is_paraphrase).drop_nulls()
    original_answer = _answer.filter(_is_repeat(0)).first()
    paraphrase_answers = _answer.filter(_is_paraphrase).drop_nulls()
    per_row = scores.group_by([*ITEM, "source_id"]).agg(
        _value.filter(_is_repeat(0)).first().alias("first"),
        _value.filter(_is_repeat(1)).first().alias("second"),
        pl.col("question").filter(_is_repeat(0)).first(),
        pl.col("copy_index").filter(_is_paraphrase).n_unique().alias("paraphrases"),
        _value.filter(_is_paraphrase).drop_nulls().len().alias("scored_paraphrases"),
        wordings.std(ddof=0).alias("wording_std"),
        (wordings.max() - wordings.min()).alias("wording_range"),
        (paraphrase_answers != original_answer).any().alias("flipped"),
        (original_answer.is_not_null() & (paraphrase_answers.len() > 0)).alias("can_flip"),
    )
    has_wordings = (pl.col("scored_paraphrases") > 0) & pl.col("first").is_not_null()
    return per_row.with_columns(
        (pl.col("first").is_not_null() & pl.col("second").is_not_null()).alias("both_repeats"),
        pl.when(has_wordings).then(pl.col("wording_std")),
        pl.when(has_wordings).then(pl.col("wording_range")),
        pl.when(pl.col("can_flip")).then(pl.col("flipped")),
    )
