"""Sample standard deviation (ddof=1, as Polars' std), merged with Chan et al.'s formula."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

from scorers.metrics.base import State
from scorers.metrics.values import as_numbers


class StdDev:
    def zero(self) -> State:
        return {"n": 0, "mean": 0.0, "m2": 0.0}

    def update(self, state: State, values: pa.Array, labels: pa.Array | None) -> State:
        numbers = as_numbers(values)
        n = len(numbers)
        if n == 0:
            return state
        mean = pc.mean(numbers).as_py()
        m2 = pc.sum(pc.power(pc.subtract(numbers, mean), 2)).as_py()
        return self.merge(state, {"n": n, "mean": mean, "m2": m2})

    def merge(self, a: State, b: State) -> State:
        n = a["n"] + b["n"]
        if n == 0:
            return self.zero()
        delta = b["mean"] - a["mean"]
        mean = a["mean"] + delta * b["n"] / n
        m2 = a["m2"] + b["m2"] + delta * delta * a["n"] * b["n"] / n
        return {"n": n, "mean": mean, "m2": m2}

    def finalize(self, state: State) -> float | None:
        return math.sqrt(state["m2"] / (state["n"] - 1)) if state["n"] > 1 else None
