"""Cross-sample results joined onto a block by id: each result is a small table of the rows
that do not take its default (see CrossSampleResult), looked up with one hash kernel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.cross_sample_stage import ERROR_PREFIX


def attach_cross_sample(block: pa.Table, results: Sequence[Any], id_col: str) -> pa.Table:
    """Each result's column (its default where the table has no row) and its error column."""
    ids = block[id_col].combine_chunks()
    for result in results:
        table = result.table
        where = pc.index_in(ids, value_set=table[id_col].combine_chunks())
        missing = len(table)  # the index of the default, appended below
        where = pc.fill_null(where, missing)
        default = pa.array([result.default], result.struct_type)
        values = pa.concat_arrays([table[result.key].combine_chunks(), default])
        block = block.append_column(result.key, values.take(where))
        error = ERROR_PREFIX + result.key
        if error in table.column_names:
            errors = pa.concat_arrays([table[error].combine_chunks(), pa.nulls(1, pa.string())])
            block = block.append_column(error, errors.take(where))
    return block
