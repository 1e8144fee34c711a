"""Arrow types of the single-question scorers' output structs."""

import pyarrow as pa

from scorers.usage import USAGE_FIELD, USAGE_TYPE

COMMON = [
    ("label_mass", pa.float64()),
    (USAGE_FIELD, USAGE_TYPE),
    ("unscored_reason", pa.string()),
]

LIKERT_TYPE = pa.struct(
    [
        ("score", pa.float64()),
        ("mode", pa.int64()),
        ("distribution", pa.list_(pa.float64())),
        *COMMON,
    ]
)
CATEGORICAL_TYPE = pa.struct(
    [
        ("label", pa.string()),
        ("probability", pa.float64()),
        ("entropy_bits", pa.float64()),
        ("distribution", pa.map_(pa.string(), pa.float64())),
        *COMMON,
    ]
)
BOOLEAN_TYPE = pa.struct([("value", pa.bool_()), ("confidence", pa.float64()), *COMMON])
