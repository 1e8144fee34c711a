"""The Score fields of a checklist scorer, as the checklist-scorers seed names them."""

from __future__ import annotations

import pyarrow as pa

from scorers.usage import USAGE_FIELD, USAGE_TYPE

SCORE_FIELDS = (
    "primary_score",
    "pass_rate",
    "weighted_score",
    "normalized_score",
    "scaled_score_1_5",
)

ITEM_TYPE = pa.struct(
    [
        ("index", pa.int32()),
        ("question", pa.string()),
        ("weight", pa.float64()),
        ("answer", pa.string()),
        ("confidence", pa.float64()),
        ("calibrated_confidence", pa.float64()),  # null unless the job has `calibration`
        ("confidence_level", pa.string()),
        ("label_mass", pa.float64()),  # P(yes) + P(no), every spelling, at the answer token
        ("reasoning", pa.string()),
        ("unscored_reason", pa.string()),
    ]
)


SCORE_TYPE = pa.struct(
    [
        *((name, pa.float64()) for name in SCORE_FIELDS),
        ("primary_metric", pa.string()),
        ("item_scores", pa.list_(ITEM_TYPE)),
        (USAGE_FIELD, USAGE_TYPE),
        ("unscored_reason", pa.string()),
    ]
)
