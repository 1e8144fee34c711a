"""Arrow types of the cross-sample scorers' output structs."""

import pyarrow as pa

UNIQUENESS_TYPE = pa.struct(
    [("is_unique", pa.bool_()), ("duplicate_count", pa.int64()), ("duplicate_group", pa.string())]
)
NEAR_DUP_TYPE = pa.struct([("near_dup_cluster", pa.string()), ("is_near_duplicate", pa.bool_())])
