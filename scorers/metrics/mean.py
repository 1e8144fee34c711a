from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from scorers.metrics.base import State


class Mean:
    def zero(self) -> State:
        return {"n": 0, "sum": 0.0}

    def update(self, state: State, values: pa.Array) -> State:
        return self.merge(state, {"n": len(values), "sum": pc.sum(values).as_py() or 0.0})

    def merge(self, a: State, b: State) -> State:
        return {"n": a["n"] + b["n"], "sum": a["sum"] + b["sum"]}

    def finalize(self, state: State) -> float | None:
        return state["sum"] / state["n"] if state["n"] else None
