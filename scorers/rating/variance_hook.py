"""A likert, categorical or boolean scorer under `rayscore variance`: one scalar score per
repeat (it has no paraphrases, so paraphrase copies are left out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from scorers.hooks.variance_hook import PARAPHRASE, SCORE
from scorers.rating.spec import RatingBase
from scorers.scorer_spec import ScorerSpec


@dataclass(frozen=True)
class RatingVariance:
    value_field: str  # the struct field whose spread is measured
    answer_field: str  # the struct field that is the answer

    def paraphrases(self, spec: ScorerSpec) -> int:
        return 0

    def copy_columns(self, spec: ScorerSpec, paraphrase: int | None, rows: int) -> list[pl.Series]:
        return []

    def per_copy(self, spec: ScorerSpec, dumped: dict[str, Any]) -> dict[str, Any]:
        return dumped

    def copy_scores(self, spec: ScorerSpec, copies: pl.DataFrame) -> pl.DataFrame:
        assert isinstance(spec, RatingBase), spec.type
        score = pl.col(SCORE).struct
        return copies.filter(pl.col(PARAPHRASE).is_null()).select(
            pl.exclude(SCORE),
            pl.lit(None, dtype=pl.Int32).alias("item"),
            pl.lit(spec.question).alias("question"),
            score.field(self.value_field).cast(pl.Float64).alias("value"),
            score.field(self.answer_field).cast(pl.String).alias("answer"),
        )


BOOLEAN_VARIANCE = RatingVariance("confidence", "value")
LIKERT_VARIANCE = RatingVariance("score", "mode")
CATEGORICAL_VARIANCE = RatingVariance("probability", "label")
