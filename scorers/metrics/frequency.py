"""How often each value occurs.

Keys are strings, as JSON needs: a string value as it is, any other value as its JSON text
(true, 1, 2.5). A field holds one type, so keys never collide; read them back with json.loads
for non-string fields.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from scorers.metrics.base import State
from scorers.metrics.values import value_key


class Frequency:
    def zero(self) -> State:
        return {"counts": {}}

    def update(self, state: State, values: pa.Array, labels: pa.Array | None) -> State:
        counts = {
            value_key(entry["values"]): entry["counts"]
            for entry in pc.value_counts(values).to_pylist()
        }
        return self.merge(state, {"counts": counts})

    def merge(self, a: State, b: State) -> State:
        counts = dict(a["counts"])
        for key, n in b["counts"].items():
            counts[key] = counts.get(key, 0) + n
        return {"counts": counts}

    def finalize(self, state: State) -> dict[str, int]:
        """Counts, most frequent first (ties by key)."""
        return dict(sorted(state["counts"].items(), key=lambda kv: (-kv[1], kv[0])))
