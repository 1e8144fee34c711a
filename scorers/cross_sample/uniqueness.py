"""Exact duplicates: normalise, hash, group rows by hash, label each row by its group's size."""

from __future__ import annotations

import hashlib
import re
import string

import pyarrow as pa

from scorers.cross_sample.fields import UNIQUENESS_TYPE
from scorers.cross_sample.spec import UniquenessSpec
from scorers.cross_sample.steps import SharedGroups

HASH_COLUMN = "__text_hash"
_WHITESPACE = re.compile(r"\s+")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize(text: str, spec: UniquenessSpec) -> str:
    if spec.lowercase:
        text = text.lower()
    if spec.strip_punctuation:
        text = text.translate(_PUNCTUATION)
    if spec.collapse_whitespace:
        text = _WHITESPACE.sub(" ", text).strip()
    return text


def text_hashes(texts: list[str | None], spec: UniquenessSpec) -> list[str | None]:
    """A stable hash per normalised text; null text has no hash (it is unique, as in the seed)."""
    return [
        None
        if t is None
        else hashlib.blake2b(normalize(t, spec).encode(), digest_size=12).hexdigest()
        for t in texts
    ]


def label_group(size: int, text_hash: str | None) -> dict[str, object]:
    """Labels for one member of a hash group of `size` rows."""
    if text_hash is None or size == 1:
        return {"is_unique": True, "duplicate_count": 0, "duplicate_group": None}
    return {"is_unique": False, "duplicate_count": size - 1, "duplicate_group": text_hash}


class UniquenessScorer:
    """Grouped steps: a hash per row, group on it, label each row by its group's size."""

    group_on = (HASH_COLUMN,)
    default = None
    combine = None

    def __init__(self, spec: UniquenessSpec) -> None:
        self.spec = spec
        self.key = spec.key
        self.read_columns = (spec.column,)
        self.output_type = spec.output_type()

    def map_block(self, batch: pa.Table, id_col: str) -> pa.Table:
        hashes = text_hashes(batch[self.spec.column].to_pylist(), self.spec)
        return pa.table({id_col: batch[id_col], HASH_COLUMN: pa.array(hashes, pa.string())})

    def finish_block(self, keyed: pa.Table, shared: SharedGroups, id_col: str) -> pa.Table:
        labels = [
            label_group(shared[(h,)][1] if (h,) in shared else 1, h)
            for h in keyed[HASH_COLUMN].to_pylist()
        ]
        return pa.table({id_col: keyed[id_col], self.key: pa.array(labels, UNIQUENESS_TYPE)})
