"""A field of a struct array, read so that a struct without it reads as all null."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def field_or_nulls(structs: pa.Array, name: str) -> pa.Array:
    """A struct field's values; all null (text) where the struct has no such field."""
    if structs.type.get_field_index(name) < 0:
        return pa.nulls(len(structs), pa.string())
    return pc.struct_field(structs, name)
