"""Near duplicates: MinHash signatures (datasketch), LSH bands, clusters by union-find.

Rows that share any band bucket are candidates; candidates are joined into clusters
(connected components), each named by its smallest id. LSH with b bands of r rows, tuned by
datasketch for the threshold, catches pairs above it with high probability and pairs well
below it rarely; pairs near the threshold may go either way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.cross_sample.fields import NEAR_DUP_TYPE
from scorers.cross_sample.spec import NearDuplicatesSpec
from scorers.cross_sample.steps import FIRST_ID

_WORD = re.compile(r"\w+")


@cache
def lsh_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) that datasketch picks for this threshold."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return int(lsh.b), int(lsh.r)


def shingles(text: str, size: int) -> set[bytes]:
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def band_buckets(texts: Sequence[str | None], spec: NearDuplicatesSpec) -> list[list[int] | None]:
    """Per text, one bucket hash per band (None for null or wordless text)."""
    from datasketch import MinHash

    bands, rows = lsh_shape(spec.threshold, spec.num_perm)
    out: list[list[int] | None] = []
    for text in texts:
        grams = shingles(text, spec.shingle_size) if text is not None else set()
        if not grams:
            out.append(None)
            continue
        minhash = MinHash(num_perm=spec.num_perm, seed=spec.seed)
        minhash.update_batch(list(grams))
        values = np.asarray(minhash.hashvalues, dtype=np.uint64)
        out.append(
            [
                int.from_bytes(
                    hashlib.blake2b(
                        values[b * rows : (b + 1) * rows].tobytes(), digest_size=8
                    ).digest(),
                    "little",
                    signed=True,
                )
                for b in range(bands)
            ]
        )
    return out


def clusters(edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Connected components of candidate pairs: member id -> smallest id of its component."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


class NearDuplicatesScorer:
    """Grouped steps: band buckets per row, group on (band, bucket), an edge from each row to
    its bucket's smallest id, then clusters (connected components) in one task."""

    group_on = ("band", "bucket")
    exact = None

    def __init__(self, spec: NearDuplicatesSpec) -> None:
        self.spec = spec
        self.key = spec.key
        self.read_columns = (spec.column,)
        self.output_type = spec.output_type()
        self.default: dict[str, Any] = {"near_dup_cluster": None, "is_near_duplicate": False}

    def map_block(self, batch: pa.Table, id_col: str) -> pa.Table:
        ids, bands, buckets = [], [], []
        for row_id, row_buckets in zip(
            batch[id_col].to_pylist(),
            band_buckets(batch[self.spec.column].to_pylist(), self.spec),
            strict=True,
        ):
            for band, bucket in enumerate(row_buckets or []):
                ids.append(row_id)
                bands.append(band)
                buckets.append(bucket)
        return pa.table(
            {
                id_col: pa.array(ids, batch.schema.field(id_col).type),
                "band": pa.array(bands, pa.int32()),
                "bucket": pa.array(buckets, pa.int64()),
            }
        )

    def label_shared(self, shared: pa.Table, id_col: str) -> pa.Table:
        """Edges (first id, id) as text, from each row in a bucket other rows share to the
        bucket's smallest id."""
        edges = shared.filter(pc.not_equal(shared[FIRST_ID], shared[id_col]))
        return pa.table(
            {
                "a": edges[FIRST_ID].cast(pa.string()),
                "b": edges[id_col].cast(pa.string()),
            }
        )

    def combine(self, finished: Sequence[pa.Table], id_col: str, id_type: pa.DataType) -> pa.Table:
        """One row per member of a cluster; every other row takes `default`."""
        edges = (
            (a, b)
            for table in finished
            for a, b in zip(table["a"].to_pylist(), table["b"].to_pylist(), strict=True)
        )
        cluster_of = clusters(edges)
        members = sorted(cluster_of)
        parse = int if pa.types.is_integer(id_type) else str
        found = [{"near_dup_cluster": cluster_of[m], "is_near_duplicate": True} for m in members]
        return pa.table(
            {
                id_col: pa.array([parse(m) for m in members], id_type),
                self.key: pa.array(found, NEAR_DUP_TYPE),
            }
        )
