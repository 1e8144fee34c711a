"""Run a python_all_samples scorer: every sample in, one entry per sample out, checked.

Each entry is a flat score dict or {"scores": {...}, "metadata": {...}}. Scores become a
struct column (types inferred and checked across rows); metadata is kept as JSON, never
aggregated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from scorers.cross_sample.spec import PythonAllSamplesSpec
from scorers.snippet import call_sync, load_function
from scorers.snippet_metadata import METADATA_FIELD

_SCALAR_TYPES: tuple[tuple[type, pa.DataType], ...] = (
    (bool, pa.bool_()),
    (int, pa.int64()),
    (float, pa.float64()),
    (str, pa.string()),
)


class ScorerOutputError(ValueError):
    """compute_scores returned something that breaks the contract."""


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
                [{"unscored_reason": message}] * len(samples),
                pa.struct([("unscored_reason", pa.string())]),
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
    scores, metadata = [], []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ScorerOutputError(f"entry {n} is {type(entry).__name__}, not a dict")
        if "scores" in entry and isinstance(entry["scores"], dict):
            extra = set(entry) - {"scores", METADATA_FIELD}
            if extra:
                raise ScorerOutputError(f"entry {n}: unexpected keys {sorted(extra)}")
            scores.append(entry["scores"])
            metadata.append(entry.get(METADATA_FIELD))
        else:
            scores.append(entry)
            metadata.append(None)
    fields = _score_fields(scores)
    columns = {name: [row.get(name) for row in scores] for name, _ in fields}
    arrays = [pa.array(columns[name], type=dtype) for name, dtype in fields]
    names = [name for name, _ in fields]
    if any(m is not None for m in metadata):
        arrays.append(
            pa.array([None if m is None else json.dumps(m, default=str) for m in metadata])
        )
        names.append(METADATA_FIELD)
    if not arrays:
        raise ScorerOutputError("compute_scores returned no scores for any sample")
    return pa.StructArray.from_arrays(arrays, names=names)


def _score_fields(rows: Sequence[dict[str, Any]]) -> list[tuple[str, pa.DataType]]:
    kinds: dict[str, tuple[type, int]] = {}
    for n, row in enumerate(rows):
        for name, value in row.items():
            if not isinstance(name, str):
                raise ScorerOutputError(f"entry {n}: score names must be strings, got {name!r}")
            if name == METADATA_FIELD:
                raise ScorerOutputError(f"entry {n}: 'metadata' is not a score name")
            if value is None:
                kinds.setdefault(name, (type(None), n))
                continue
            kind = _kind(value, name, n)
            seen, first = kinds.get(name, (type(None), n))
            if seen is type(None) or seen is kind:
                kinds[name] = (kind, first if seen is kind else n)
            elif {seen, kind} == {int, float}:
                kinds[name] = (float, first)
            else:
                raise ScorerOutputError(
                    f"score {name!r} is {seen.__name__} in entry {first} "
                    f"but {kind.__name__} in entry {n}"
                )
    types = dict(_SCALAR_TYPES)
    return [(name, types.get(kind, pa.float64())) for name, (kind, _) in kinds.items()]


def _kind(value: Any, name: str, n: int) -> type:
    for kind, _ in _SCALAR_TYPES:
        if type(value) is kind:
            return kind
    raise ScorerOutputError(
        f"entry {n}: score {name!r} is {type(value).__name__}; scores are bool, int, float or "
        "str (put anything else in metadata)"
    )
