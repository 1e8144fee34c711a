"""The steps a cross-sample scorer gives the pipeline, which runs them on Ray Data unchanged
for every kind. Two shapes:

GroupedScorer (scales with the cluster):
  1. `map_block`: each input block (id + `read_columns`) -> keyed rows (id + `group_on`);
     a row may give several keyed rows (one per LSH band, say) or none.
  2. the pipeline groups the keyed rows on `group_on` (a distributed group-by) and brings
     back only keys that several rows share: key -> (smallest id, rows).
  3. `finish_block`: each keyed block with those shared keys -> rows.
  4. `combine`, when not None: every finished row, on the driver -> (id, key) rows
     (called with no tables when no key is shared). Without it the finished rows already
     are (id, key) rows.
  Ids missing from the result take `default`.

WholeDatasetScorer: every sample (the columns it names) in one call, in dataset order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa

SharedGroups = Mapping[tuple[Any, ...], tuple[Any, int]]  # key -> (smallest id, rows)
# (every finished block, id column, id type) -> (id, key) rows
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

    def finish_block(self, keyed: pa.Table, shared: SharedGroups, id_col: str) -> pa.Table: ...

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
