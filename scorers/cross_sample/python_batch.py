"""Run a python_all_samples scorer: every sample in, one entry per sample out, checked
(scorers.score_entries: the entry formats and how they become a struct column)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from scorers.cross_sample.spec import PythonAllSamplesSpec
from scorers.score_entries import (
    UNSCORED_REASON,
    ScoreFields,
    ScorerOutputError,
    score_struct,
)
from scorers.snippet import call_sync, load_function

__all__ = ["PythonAllSamplesScorer", "ScorerOutputError", "entries_to_struct", "run_python_scorer"]


def compute_scores_function(spec: PythonAllSamplesSpec) -> Callable[..., Any]:
    return load_function(spec.code(), "compute_scores", spec.snippet_name())


def run_python_scorer(spec: PythonAllSamplesSpec, samples: list[dict[str, Any]]) -> pa.Array:
    """The scorer's struct column for `samples`, in their order."""
    entries = call_sync(compute_scores_function(spec), samples)
    return entries_to_struct(entries, len(samples))


class PythonAllSamplesScorer:
    """Whole-dataset steps: the snippet runs here, once, where its scores are computed."""

    def __init__(self, spec: PythonAllSamplesSpec) -> None:
        self.spec = spec
        self.key = spec.key

    def sample_columns(self, input_columns: Sequence[str], judged_keys: Sequence[str]) -> list[str]:
        return list(self.spec.columns or [*input_columns, *judged_keys])

    def score_samples(self, samples: list[dict[str, Any]]) -> tuple[pa.Array, pa.Array]:
        """The scores, or when the snippet fails or breaks the contract, every row unscored
        with the reason (the job goes on)."""
        try:
            return run_python_scorer(self.spec, samples), pa.nulls(len(samples), pa.string())
        except Exception as exc:
            message = f"{self.key}: compute_scores failed: {type(exc).__name__}: {exc}"
            column = pa.array(
                [{UNSCORED_REASON: message}] * len(samples),
                pa.struct([(UNSCORED_REASON, pa.string())]),
            )
            return column, pa.array([message] * len(samples), pa.string())


def entries_to_struct(entries: Any, expected: int) -> pa.Array:
    if not isinstance(entries, list | tuple):
        raise ScorerOutputError(f"compute_scores must return a list, got {type(entries).__name__}")
    if len(entries) != expected:
        raise ScorerOutputError(
            f"compute_scores returned {len(entries)} entries for {expected} samples; "
            "it must return one per sample, in order"
        )
    fields = ScoreFields()
    scores, metadata = [], []
    for n, entry in enumerate(entries):
        entry_scores, entry_metadata = fields.take(entry, f"entry {n}", f"entry {n}")
        scores.append(entry_scores)
        metadata.append(entry_metadata)
    try:
        return score_struct(scores, metadata, fields.types(never_set=pa.float64()))
    except ScorerOutputError as exc:
        raise ScorerOutputError(f"compute_scores returned {exc}") from None
