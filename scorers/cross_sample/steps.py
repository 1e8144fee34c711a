"""The steps a cross-sample scorer gives the pipeline, which runs them on the cluster unchanged
for every kind. Two shapes:

GroupedScorer (scales with the cluster; the driver sees only rows in shared groups):
  1. `map_block`: each input block (id + `read_columns`) -> keyed rows (id + `group_on`,
     fixed-size digests computed by kernels); a row may give several keyed rows (one per LSH
     band, say) or none (it takes `default`).
  2. the pipeline hash-partitions the keyed rows on `group_on` and, per partition, keeps the
     rows whose key several rows share, with `GROUP_ROWS` (rows sharing it) and `FIRST_ID`
     (their smallest id).
  3. `exact`, when not None: the rows kept are read again and `exact` gives, per row, the
     columns that must be equal too (the text a digest stands for); the rows are grouped
     again on `group_on` + those columns, so a digest collision never makes a group.
  4. `label_shared`: each partition's kept rows -> (id, key) rows, every row not taking
     `default`; or, with `combine`, the rows `combine` reads.
  5. `combine`, when not None: every partition's labelled rows, in one task -> (id, key) rows.

WholeDatasetScorer: every sample (the columns it names) in one call, in dataset order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa

# key -> (smallest id, rows sharing it): what an earlier-protocol finish_block is given
# (scorers.grouped_shape.finish_block_adapter)
SharedGroups = Mapping[tuple[Any, ...], tuple[Any, int]]
GROUP_ROWS = "__group_rows"  # rows sharing the row's key
FIRST_ID = "__first_id"  # the smallest id among them

# the rows kept (id + read_columns) -> the columns compared exactly, one row per row
Exact = Callable[[pa.Table], pa.Table]
# (every partition's labelled rows, id column, id type) -> (id, key) rows
Combine = Callable[[Sequence[pa.Table], str, pa.DataType], pa.Table]


class GroupedScorer(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def read_columns(self) -> Sequence[str]: ...

    @property
    def group_on(self) -> Sequence[str]: ...

    @property
    def output_type(self) -> pa.DataType: ...

    @property
    def default(self) -> dict[str, Any] | None: ...

    def map_block(self, batch: pa.Table, id_col: str) -> pa.Table: ...

    @property
    def exact(self) -> Exact | None: ...

    def label_shared(self, shared: pa.Table, id_col: str) -> pa.Table: ...

    @property
    def combine(self) -> Combine | None: ...


class WholeDatasetScorer(Protocol):
    @property
    def key(self) -> str: ...

    def sample_columns(self, input_columns: Sequence[str], judged_keys: Sequence[str]) -> list[str]:
        """The fields each sample holds: input columns and judged scorers' outputs."""
        ...

    def score_samples(self, samples: list[dict[str, Any]]) -> tuple[pa.Array, pa.Array]:
        """(the scorer's column, an error per sample), one entry per sample in order."""
        ...
