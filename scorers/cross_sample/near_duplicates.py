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

import numpy as np
import pyarrow as pa

from scorers.cross_sample.spec import NearDuplicatesSpec

NEAR_DUP_TYPE = pa.struct([("near_dup_cluster", pa.string()), ("is_near_duplicate", pa.bool_())])
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
