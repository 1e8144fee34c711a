"""A checklist under `rayscore variance`: each item's confidence, on repeats and on the copies
that ask the item's paraphrases. A corpus-level checklist becomes a per-row checklist column,
so that paraphrase copy k can ask each item's k-th paraphrase (an item with fewer keeps its
question there, and those answers are left out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from scorers.checklist.calibrated import ITEMS
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec
from scorers.hooks.variance_hook import PARAPHRASE, SCORE
from scorers.scorer_spec import ScorerSpec

CHECKLIST_TYPE = pl.List(pl.Struct({"question": pl.String, "weight": pl.Float64}))


def checklist_column(scorer_key: str) -> str:
    """The column of the copies that holds the checklist a corpus-level checklist asks."""
    return f"_variance_checklist_{scorer_key}"


def _checklist(spec: ScorerSpec) -> ChecklistScorerSpec:
    assert isinstance(spec, ChecklistScorerSpec), spec.type
    return spec


def asked(items: list[ChecklistItem], paraphrase: int | None) -> list[dict[str, Any]]:
    """The checklist one copy asks: paraphrase copy k asks each item's k-th paraphrase."""
    return [
        {
            "question": item.paraphrases[paraphrase]
            if paraphrase is not None and paraphrase < len(item.paraphrases)
            else item.question,
            "weight": item.weight,
        }
        for item in items
    ]


@dataclass(frozen=True)
class ChecklistVariance:
    def paraphrases(self, spec: ScorerSpec) -> int:
        items = _checklist(spec).checklist or []
        return max((len(item.paraphrases) for item in items), default=0)

    def copy_columns(self, spec: ScorerSpec, paraphrase: int | None, rows: int) -> list[pl.Series]:
        checklist = _checklist(spec)
        if checklist.checklist is None:
            return []
        values = [asked(checklist.checklist, paraphrase)] * rows
        return [pl.Series(checklist_column(spec.key), values, dtype=CHECKLIST_TYPE)]

    def per_copy(self, spec: ScorerSpec, dumped: dict[str, Any]) -> dict[str, Any]:
        if _checklist(spec).checklist is None:
            return dumped
        return {**dumped, "checklist": None, "checklist_column": checklist_column(spec.key)}

    def copy_scores(self, spec: ScorerSpec, copies: pl.DataFrame) -> pl.DataFrame:
        items = _checklist(spec).checklist or []
        paraphrases = {n: len(item.paraphrases) for n, item in enumerate(items)}
        has_paraphrase = pl.col(PARAPHRASE) < pl.col("index").replace_strict(
            paraphrases, default=0, return_dtype=pl.Int32
        )
        return (
            copies.select(pl.exclude(SCORE), pl.col(SCORE).struct.field(ITEMS))
            .explode(ITEMS)
            .drop_nulls(ITEMS)
            .unnest(ITEMS)
            .filter(pl.col(PARAPHRASE).is_null() | has_paraphrase)
            .with_columns(pl.col("index").alias("item"), pl.col("confidence").alias("value"))
        )


CHECKLIST_VARIANCE = ChecklistVariance()
