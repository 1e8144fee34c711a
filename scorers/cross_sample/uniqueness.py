"""Exact duplicates: normalise, hash, then label each hash group (groups come from Ray Data)."""

from __future__ import annotations

import hashlib
import re
import string

import pyarrow as pa

from scorers.cross_sample.spec import UniquenessSpec

UNIQUENESS_TYPE = pa.struct(
    [("is_unique", pa.bool_()), ("duplicate_count", pa.int64()), ("duplicate_group", pa.string())]
)
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
