"""A kind whose scores `rayscore variance` measures (pipeline.variance.run): the same sampled
row scored twice (repeats), and, where the kind has paraphrases, asked in other words.

A copy is a repeat (paraphrase None) or paraphrase copy k (its items asked in their k-th
paraphrase). The copies are scored in one job, by the scorers as `per_copy` writes them.
"""

from __future__ import annotations

from typing import Any, Protocol

import polars as pl

from scorers.scorer_spec import ScorerSpec

# The columns of the scored copies a hook reads, beside the copies' own (kept as they are).
SCORE = "score"  # the scorer's struct
PARAPHRASE = "paraphrase"  # which paraphrase the copy asks; null on a repeat


class VarianceHook(Protocol):
    def paraphrases(self, spec: ScorerSpec) -> int:
        """How many paraphrase copies this scorer can fill (its most paraphrased item's)."""
        ...

    def copy_columns(self, spec: ScorerSpec, paraphrase: int | None, rows: int) -> list[pl.Series]:
        """Columns `rows` rows of one copy need beside the input's (what they ask)."""
        ...

    def per_copy(self, spec: ScorerSpec, dumped: dict[str, Any]) -> dict[str, Any]:
        """The scorer as the copies' job runs it: its JSON dump, changed to read copy_columns."""
        ...

    def copy_scores(self, spec: ScorerSpec, copies: pl.DataFrame) -> pl.DataFrame:
        """One row per scored copy x item: the copies' own columns kept, and item (Int32, null
        for a scalar score), question, value (the score whose spread is measured) and answer.
        `copies` has SCORE and PARAPHRASE, which the result may drop; a paraphrase copy of an
        item without that paraphrase is left out."""
        ...
