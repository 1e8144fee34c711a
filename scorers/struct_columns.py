"""A scorer's output struct assembled from its field columns."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa


def struct_array(
    columns: Mapping[str, pa.Array], struct_type: pa.DataType, length: int
) -> pa.Array:
    """`length` structs of `struct_type`; a field without a column is null in every row."""
    children = [
        columns[f.name].cast(f.type) if f.name in columns else pa.nulls(length, f.type)
        for f in struct_type
    ]
    return pa.StructArray.from_arrays(children, fields=list(struct_type))
