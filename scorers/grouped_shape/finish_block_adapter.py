"""Grouped scorers written for the earlier protocol: `finish_block(keyed, shared, id_col)`
with `shared` a dict of the shared keys (key -> (smallest id, rows)) and no `label_shared` or
`exact`. They keep working: `finish_block` is given the rows in shared groups (with the dict
of their keys), and every other row takes the scorer's `default`, as it did when its key was
missing from the dict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from scorers.cross_sample.steps import FIRST_ID, GROUP_ROWS, Combine, GroupedScorer


class FinishBlockAdapter:
    exact = None

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

    @property
    def key(self) -> str:
        return str(self.scorer.key)

    @property
    def read_columns(self) -> Sequence[str]:
        return tuple(self.scorer.read_columns)

    @property
    def group_on(self) -> Sequence[str]:
        return tuple(self.scorer.group_on)

    @property
    def output_type(self) -> pa.DataType:
        return self.scorer.output_type

    @property
    def default(self) -> dict[str, Any] | None:
        return self.scorer.default  # type: ignore[no-any-return]

    @property
    def combine(self) -> Combine | None:
        return self.scorer.combine  # type: ignore[no-any-return]

    def map_block(self, batch: pa.Table, id_col: str) -> pa.Table:
        return self.scorer.map_block(batch, id_col)  # type: ignore[no-any-return]

    def label_shared(self, shared: pa.Table, id_col: str) -> pa.Table:
        keys = list(self.group_on)
        groups = {
            tuple(row[k] for k in keys): (row[FIRST_ID], row[GROUP_ROWS])
            for row in shared.select([*keys, FIRST_ID, GROUP_ROWS]).to_pylist()
        }
        keyed = shared.select([id_col, *keys])
        return self.scorer.finish_block(keyed, groups, id_col)  # type: ignore[no-any-return]


def grouped(scorer: Any) -> GroupedScorer:
    """The scorer itself, or for one of the earlier protocol, its adapter."""
    if hasattr(scorer, "label_shared") or not hasattr(scorer, "finish_block"):
        return scorer  # type: ignore[no-any-return]
    return FinishBlockAdapter(scorer)
