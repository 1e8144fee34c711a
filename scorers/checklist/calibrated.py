"""Calibrated confidences inside a column of checklist Score structs, in Arrow.

`item_scores` is rebuilt with each item's `calibrated_confidence` filled by the calibrator of
its score name (`<scorer name>.item_<index>`); items whose name has no calibrator keep null.
The item confidences of a sample can also be read as one row of a matrix, the features of a
composite score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.calibration import apply_calibrator
from scorers.checklist.fields import ITEM_TYPE

ITEMS = "item_scores"


def item_name(scorer_name: str, index: int) -> str:
    return f"{scorer_name}.item_{index}"


def with_calibrated_items(
    scores: pa.Array, scorer_name: str, calibrators: Mapping[str, dict[str, Any]]
) -> pa.Array:
    """The same Score structs, `calibrated_confidence` filled where a calibrator exists: the
    item's own (`<scorer name>.item_<index>`), else the scorer's (`<scorer name>`)."""
    items = scores.field(ITEMS)
    start = items.offsets[0].as_py()
    offsets = pc.subtract(items.offsets, start)
    flat = items.values.slice(start, offsets[-1].as_py())
    confidence = flat.field("confidence").to_numpy(zero_copy_only=False).astype(float)
    index = flat.field("index").to_numpy(zero_copy_only=False)
    calibrated = np.full(len(flat), np.nan)
    for n in np.unique(index):
        calibrator = calibrators.get(item_name(scorer_name, int(n))) or calibrators.get(scorer_name)
        if calibrator is not None:
            mine = index == n
            calibrated[mine] = apply_calibrator(calibrator, confidence[mine])
    fields = [
        pa.array(calibrated, type=pa.float64(), from_pandas=True)
        if f.name == "calibrated_confidence"
        else flat.field(f.name)
        for f in ITEM_TYPE
    ]
    new_flat = pa.StructArray.from_arrays(fields, fields=list(ITEM_TYPE), mask=flat.is_null())
    new_items = pa.ListArray.from_arrays(offsets, new_flat, mask=items.is_null())
    # the scores' own type: SCORE_TYPE, with the truncation fields when the scorer truncates
    columns = [new_items if f.name == ITEMS else scores.field(f.name) for f in scores.type]
    return pa.StructArray.from_arrays(columns, fields=list(scores.type), mask=scores.is_null())


def item_confidences(scores: pa.Array, n_items: int) -> np.ndarray[Any, Any]:
    """One row per sample, one column per item index; NaN where a sample has no such item
    scored (or a different number of items)."""
    items = scores.field(ITEMS)
    lengths = pc.fill_null(pc.list_value_length(items), 0).to_numpy(zero_copy_only=False)
    out = np.full((len(scores), n_items), np.nan)
    whole = lengths == n_items
    if whole.any():
        flat = pc.list_flatten(items.filter(pa.array(whole)))
        values = flat.field("confidence").to_numpy(zero_copy_only=False).astype(float)
        out[whole] = values.reshape(-1, n_items)
    return out
