"""A checklist's calibration: its items' confidences calibrated to human labels of the items
(scorers.checklist.calibrated), and a corpus-level checklist's items weighed into a composite
against its hand-set `weighted_score`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from scorers.checklist.calibrated import ITEMS, item_confidences, with_calibrated_items
from scorers.checklist.fields import SCORE_TYPE
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.scorer_spec import ScorerSpec
from scorers.truncate_spec import without_truncation_fields


@dataclass(frozen=True)
class ChecklistCalibration:
    hand_set_field: str = "weighted_score"

    def calibrates(self, struct_type: pa.DataType) -> bool:
        return bool(without_truncation_fields(struct_type) == SCORE_TYPE)

    def item_confidences(self, scores: pl.DataFrame, column: str, scorer_name: str) -> pl.DataFrame:
        item = pl.col(ITEMS).struct.field
        return (
            scores.select("sample_id", pl.col(column).struct.field(ITEMS))
            .explode(ITEMS)
            .drop_nulls(ITEMS)
            .select(
                "sample_id",
                pl.lit(scorer_name).alias("scorer"),
                pl.format(f"{scorer_name}.item_{{}}", item("index")).alias("name"),
                item("confidence"),
            )
        )

    def calibrated(
        self, structs: pa.Array, scorer_name: str, calibrators: Mapping[str, dict[str, Any]]
    ) -> pa.Array:
        return with_calibrated_items(structs, scorer_name, calibrators)

    def composite_items(self, spec: ScorerSpec) -> list[str] | None:
        assert isinstance(spec, ChecklistScorerSpec), spec.type
        if spec.checklist is None:
            return None
        return [item.question for item in spec.checklist]

    def composite_features(self, structs: pa.Array, n_items: int) -> np.ndarray[Any, Any]:
        return item_confidences(structs, n_items)


CHECKLIST_CALIBRATION = ChecklistCalibration()
