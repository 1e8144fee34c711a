"""A metric defined by the spec's compute_metric snippet over the field's values.

The state is the list of values (merge concatenates, earlier block first), so this metric is
exact under any split but keeps every value in memory until finalize.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from scorers.metrics.base import State
from scorers.metrics.snippet import load_compute_metric


class PythonMetric:
    def __init__(self, snippet: str) -> None:
        self.snippet = snippet
        self._compute: Callable[[list[Any]], Any] | None = None

    def zero(self) -> State:
        return {"values": []}

    def update(self, state: State, values: pa.Array, labels: pa.Array | None) -> State:
        return self.merge(state, {"values": values.to_pylist()})

    def merge(self, a: State, b: State) -> State:
        return {"values": a["values"] + b["values"]}

    def finalize(self, state: State) -> float | dict[str, Any] | None:
        """compute_metric(values); None without calling it when there are no values."""
        if not state["values"]:
            return None
        if self._compute is None:
            self._compute = load_compute_metric(self.snippet)
        result = self._compute(list(state["values"]))
        if isinstance(result, numbers.Real) and not isinstance(result, bool):
            return float(result)
        if isinstance(result, dict):
            try:
                json.dumps(result)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"compute_metric returned a dict that is not JSON: {exc}") from exc
            return result
        raise TypeError(
            f"compute_metric must return a number or a dict, got {type(result).__name__}"
        )
