"""Run a Python scorer over a batch of rows: one call per sample, one struct per row.

A sample that raises, or returns something that breaks the contract (scorers.score_entries),
is unscored: its scores are null, `unscored_reason` and its error say why (with the snippet's
line for an exception), and the other rows keep theirs. The struct's score types come from
this batch's values; the pipeline unifies them across batches (a score null throughout one
batch, an int in one and a float in another).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from scorers.judged import ScoredBatch
from scorers.python_scorer.spec import PythonScorerSpec
from scorers.score_entries import ScoreFields, ScorerOutputError, score_struct
from scorers.snippet import call_each, load_function, snippet_line


class PythonScorer:
    def __init__(self, spec: PythonScorerSpec) -> None:
        self.spec = spec
        self.key = spec.key
        self._function: Callable[..., Any] | None = None  # compiled where it first runs

    def read_columns(self, input_columns: Sequence[str]) -> list[str]:
        return list(self.spec.columns or input_columns)

    def function(self) -> Callable[..., Any]:
        if self._function is None:
            self._function = load_function(
                self.spec.code(), self.spec.FUNCTION, self.spec.snippet_name()
            )
        return self._function

    def score_batch(self, samples: pa.Table) -> ScoredBatch:
        results = call_each(self.function(), samples.to_pylist())
        fields = ScoreFields()
        scores: list[dict[str, Any] | None] = []
        metadata: list[Any] = []
        errors: list[str | None] = []
        for n, result in enumerate(results):
            try:
                entry_scores, entry_metadata = self._checked(result, fields, n)
            except _Unscored as unscored:
                scores.append(None)
                metadata.append(None)
                errors.append(str(unscored))
                continue
            scores.append(entry_scores)
            metadata.append(entry_metadata)
            errors.append(None)
        try:
            column = score_struct(scores, metadata, fields.types(never_set=pa.null()), errors)
        except (pa.ArrowException, ValueError, UnicodeError) as exc:  # e.g. a lone surrogate
            errors = [f"its scores could not be stored: {type(exc).__name__}: {exc}"] * len(errors)
            column = score_struct([None] * len(errors), [None] * len(errors), [], errors)
        return ScoredBatch(column, errors)

    def _checked(self, result: Any, fields: ScoreFields, n: int) -> tuple[dict[str, Any], Any]:
        name = self.spec.FUNCTION
        if isinstance(result, BaseException):
            line = snippet_line(result, self.spec.snippet_name())
            at = f" at line {line}" if line is not None else ""
            raise _Unscored(f"{name} failed{at}: {type(result).__name__}: {result}")
        try:
            return fields.take(result, f"{name}'s result", f"sample {n} of its batch")
        except ScorerOutputError as exc:
            raise _Unscored(str(exc)) from None


class _Unscored(Exception):
    """Why one sample has no scores."""
