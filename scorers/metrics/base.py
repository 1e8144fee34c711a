"""Mergeable metrics: a block's partial state, a merge of two states, a final value.

Any split of a table into blocks gives the same final value (up to float rounding), so
metrics run per block on the cluster and combine on the driver.
"""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa

State = dict[str, Any]


class Metric(Protocol):
    def zero(self) -> State: ...

    def update(self, state: State, values: pa.Array) -> State:
        """Fold in a block's non-null float values."""
        ...

    def merge(self, a: State, b: State) -> State: ...

    def finalize(self, state: State) -> float | None: ...
