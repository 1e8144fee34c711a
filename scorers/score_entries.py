"""What a Python scorer snippet returns per sample, checked and turned into a struct column.

An entry is a flat score dict ({"accuracy": 0.9}) or {"scores": {...}, "metadata": {...}}.
Scores are bool, int, float or str; a score's Arrow type comes from the values it takes
(ints and floats together are floats). Metadata is kept as JSON and never aggregated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from scorers.snippet_metadata import METADATA_FIELD

UNSCORED_REASON = "unscored_reason"
SCALAR_TYPES: tuple[tuple[type, pa.DataType], ...] = (
    (bool, pa.bool_()),
    (int, pa.int64()),
    (float, pa.float64()),
    (str, pa.string()),
)
_INT64 = range(-(2**63), 2**63)


class ScorerOutputError(ValueError):
    """A snippet returned something that breaks the contract."""


def split_entry(entry: Any) -> tuple[dict[str, Any], Any]:
    """(scores, metadata) of one entry; raises ScorerOutputError with a predicate ("is int,
    not a dict") for the caller to name the entry."""
    if not isinstance(entry, dict):
        raise ScorerOutputError(f"is {type(entry).__name__}, not a dict")
    if "scores" in entry and isinstance(entry["scores"], dict):
        extra = set(entry) - {"scores", METADATA_FIELD}
        if extra:
            raise ScorerOutputError(f"has unexpected keys {sorted(extra)}")
        return entry["scores"], entry.get(METADATA_FIELD)
    return entry, None


class ScoreFields:
    """The kind of each score name over the entries added so far (first seen, first listed)."""

    def __init__(self) -> None:
        self._kinds: dict[str, tuple[type, str]] = {}  # name -> (kind, entry it was first seen in)

    def take(self, entry: Any, label: str, where: str) -> tuple[dict[str, Any], Any]:
        """(scores, metadata) of one entry, its scores added; the error names it by `label`
        ("entry 3", "compute_score's result") and its kinds' conflicts by `where`."""
        try:
            scores, metadata = split_entry(entry)
        except ScorerOutputError as exc:
            raise ScorerOutputError(f"{label} {exc}") from None
        try:
            self.add(scores, where)
            json.dumps(metadata, default=str)  # what score_struct stores: fails here, alone
        except (ScorerOutputError, ValueError) as exc:  # a circular metadata is a ValueError
            raise ScorerOutputError(f"{label}: {exc}") from None
        return scores, metadata

    def add(self, scores: dict[str, Any], where: str) -> None:
        """Take one entry's scores, or raise ScorerOutputError and take none of them."""
        kinds = {name: score_kind(name, value) for name, value in scores.items()}
        for name, kind in kinds.items():
            seen, first = self._kinds.get(name, (type(None), where))
            if {seen, kind} == {int, float} or type(None) in (seen, kind) or seen is kind:
                continue
            raise ScorerOutputError(
                f"score {name!r} is {seen.__name__} in {first} but {kind.__name__} in {where}"
            )
        for name, kind in kinds.items():
            seen, first = self._kinds.get(name, (type(None), where))
            if seen is type(None):
                self._kinds[name] = (kind, where)
            elif {seen, kind} == {int, float}:
                self._kinds[name] = (float, first)

    def types(self, never_set: pa.DataType) -> list[tuple[str, pa.DataType]]:
        """Each score's Arrow type; `never_set` for a score that was null in every entry."""
        types = dict(SCALAR_TYPES)
        return [(name, types.get(kind, never_set)) for name, (kind, _) in self._kinds.items()]


def score_kind(name: Any, value: Any) -> type:
    """The Python type a score takes (NoneType for null); raises ScorerOutputError."""
    if not isinstance(name, str):
        raise ScorerOutputError(f"score names must be strings, got {name!r}")
    if name in (METADATA_FIELD, UNSCORED_REASON):
        raise ScorerOutputError(f"{name!r} is not a score name")
    if value is None:
        return type(None)
    for kind, _ in SCALAR_TYPES:
        if type(value) is kind:
            if kind is int and value not in _INT64:
                raise ScorerOutputError(f"score {name!r} is {value}, outside 64-bit integers")
            if isinstance(value, str) and not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as exc:  # a lone surrogate
                    raise ScorerOutputError(f"score {name!r} is not valid text: {exc}") from None
            return kind
    raise ScorerOutputError(
        f"score {name!r} is {type(value).__name__}; scores are bool, int, float or str (put "
        "anything else in metadata)"
    )


def score_struct(
    scores: Sequence[dict[str, Any] | None],
    metadata: Sequence[Any],
    fields: Sequence[tuple[str, pa.DataType]],
    reasons: Sequence[str | None] | None = None,
) -> pa.StructArray:
    """One struct per entry: its scores (null where an entry lacks one or is None), then
    `metadata` as JSON when any entry has some, then `unscored_reason` when `reasons` is given.
    One Arrow array per field."""
    arrays = [
        pa.array([None if row is None else row.get(name) for row in scores], type=dtype)
        for name, dtype in fields
    ]
    names = [name for name, _ in fields]
    if any(m is not None for m in metadata):
        json_text = [None if m is None else json.dumps(m, default=str) for m in metadata]
        arrays.append(pa.array(json_text, pa.string()))
        names.append(METADATA_FIELD)
    if reasons is not None:
        arrays.append(pa.array(reasons, pa.string()))
        names.append(UNSCORED_REASON)
    if not arrays:
        raise ScorerOutputError("no scores for any sample")
    return pa.StructArray.from_arrays(arrays, names=names)
