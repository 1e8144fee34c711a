"""Mergeable metrics: a block's partial state, a merge of two states, a final value.

Any split of a table into blocks gives the same final value (up to float rounding), so
metrics run per block on the cluster and combine on the driver. States are JSON-serialisable:
they travel between Ray tasks as JSON.
"""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa

State = dict[str, Any]


class Metric(Protocol):
    def zero(self) -> State: ...

    def update(self, state: State, values: pa.Array, labels: pa.Array | None) -> State:
        """Fold in a block's rows; values (and labels, for classification) hold no null or NaN."""
        ...

    def merge(self, a: State, b: State) -> State:
        """Combine two states; `a` holds the rows that come first."""
        ...

    def finalize(self, state: State) -> Any:
        """A number, a JSON-serialisable dict, or None when there is nothing to aggregate."""
        ...
