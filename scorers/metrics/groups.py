"""Split a block's rows by the values of group_by columns."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from scorers.metrics.values import jsonable


def group_key(group: dict[str, Any]) -> str:
    """The group's name in metrics.json: its {column: value} mapping as JSON."""
    return json.dumps(group, ensure_ascii=False)


def group_rows(
    table: pa.Table, columns: Sequence[str]
) -> Iterator[tuple[str, dict[str, Any], pa.Array]]:
    """(key, {column: value}, row indices in table order) for each distinct combination."""
    index = "_".join(["row", *columns])  # a name none of the group columns has
    keyed = table.select(list(columns)).append_column(
        index, pa.array(range(table.num_rows), pa.int64())
    )
    grouped = keyed.group_by(list(columns), use_threads=False).aggregate([(index, "list")])
    for row in grouped.to_pylist():
        group = {c: jsonable(row[c]) for c in columns}
        yield group_key(group), group, pa.array(sorted(row[f"{index}_list"]), pa.int64())
