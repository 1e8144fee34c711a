"""A kind whose items carry the judge's confidence, which human labels can calibrate
(pipeline.calibration fits and applies the calibrators), and whose fixed list of items can be
weighed into a composite score learnt from an overall human label.

Calibrators are named as the items' score records: `<scorer name>.item_<index>` per item, or
`<scorer name>` for all of a scorer's items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from scorers.scorer_spec import ScorerSpec


class CalibrationHook(Protocol):
    def calibrates(self, struct_type: pa.DataType) -> bool:
        """Whether a column of this struct type is this kind's (a staged scores/ column is
        known by its key and scorer name only)."""
        ...

    def item_confidences(self, scores: pl.DataFrame, column: str, scorer_name: str) -> pl.DataFrame:
        """Per scored item of `scores` (sample_id and the scorer's `column`): sample_id, scorer
        (the scorer's name), name (the item's record name) and its raw confidence."""
        ...

    def calibrated(
        self, structs: pa.Array, scorer_name: str, calibrators: Mapping[str, dict[str, Any]]
    ) -> pa.Array:
        """The same structs, each item's calibrated confidence filled where a calibrator
        exists: the item's own, else the scorer's."""
        ...

    def composite_items(self, spec: ScorerSpec) -> list[str] | None:
        """The items a composite weighs, in index order (their questions); None when the
        scorer has no fixed list of items (a per-row checklist)."""
        ...

    def composite_features(self, structs: pa.Array, n_items: int) -> np.ndarray[Any, Any]:
        """One row per struct, one column per item index: its confidence, NaN where missing."""
        ...

    @property
    def hand_set_field(self) -> str:
        """The struct field of the hand-weighted score a composite is measured against."""
        ...
