"""Exact duplicates: normalise, digest, group rows by digest and then by text, label each row
in a group of several by the group's size.

`normalize` defines the normalisation; `normalize_array` gives the same strings for a whole
column in Arrow kernels.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.cross_sample.fields import UNIQUENESS_TYPE
from scorers.cross_sample.spec import UniquenessSpec
from scorers.cross_sample.steps import GROUP_ROWS

HASH_COLUMN = "__text_hash"
TEXT_COLUMN = "__normalized_text"
DIGEST_SEED = 0x7E47
_WHITESPACE = re.compile(r"\s+")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize(text: str, spec: UniquenessSpec) -> str:
    """The text as compared: lowercased (str.lower), ASCII punctuation removed, runs of
    whitespace (str.isspace) made one space and the ends trimmed, each as `spec` asks."""
    if spec.lowercase:
        text = text.lower()
    if spec.strip_punctuation:
        text = text.translate(_PUNCTUATION)
    if spec.collapse_whitespace:
        text = _WHITESPACE.sub(" ", text).strip()
    return text


def _char_class(chars: Iterable[str]) -> str:
    """An RE2 character class of exactly `chars`."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def _every_char() -> list[str]:
    return [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


_PUNCTUATION_CLASS = _char_class(string.punctuation)


@functools.cache
def _changed_whitespace() -> str:
    """RE2 pattern of the whitespace runs `normalize` changes: every run of Python's `\\s`
    (RE2's own `\\s` is ASCII only) but a lone space, which would stay as it is."""
    space = [c for c in _every_char() if c.isspace()]
    others = [c for c in space if c != " "]
    return f" {_char_class(space)}+|{_char_class(others)}{_char_class(space)}*"


@functools.cache
def _lowered_unlike_python() -> str:
    """RE2 class of the characters that Arrow's utf8_lower (utf8proc, one simple mapping per
    character) lowercases unlike this Python's str.lower: İ (a two-character full mapping),
    letters newer than Python's Unicode tables, and Σ (str.lower makes it ς at a word's end)."""
    chars = _every_char()
    arrow = pc.utf8_lower(pa.array(chars))
    python = pa.array([c.lower() for c in chars])
    differ = pc.indices_nonzero(pc.not_equal(arrow, python)).to_pylist()
    return _char_class([*(chars[i] for i in differ), "Σ"])


def normalize_array(texts: pa.Array, spec: UniquenessSpec) -> pa.Array:
    """`normalize` of every text of a string array (null stays null) in Arrow kernels; the
    few rows Arrow would lowercase unlike Python go through `normalize` itself."""
    out = pc.utf8_lower(texts) if spec.lowercase else texts
    if spec.strip_punctuation:
        out = pc.replace_substring_regex(out, pattern=_PUNCTUATION_CLASS, replacement="")
    if spec.collapse_whitespace:
        out = pc.replace_substring_regex(out, pattern=_changed_whitespace(), replacement=" ")
        out = pc.utf8_trim(out, characters=" ")
    if spec.lowercase:
        out = _normalized_in_python(out, texts, _rows_lowered_unlike_python(texts), spec)
    return out


def _rows_lowered_unlike_python(texts: pa.Array) -> pa.Array:
    """Indices of the texts holding a character of `_lowered_unlike_python` (none is ASCII)."""
    non_ascii = pc.indices_nonzero(pc.invert(pc.string_is_ascii(texts)))
    if not len(non_ascii):
        return non_ascii
    pattern = _lowered_unlike_python()
    return non_ascii.filter(pc.match_substring_regex(texts.take(non_ascii), pattern=pattern))


def _normalized_in_python(
    normalized: pa.Array, texts: pa.Array, rows: pa.Array, spec: UniquenessSpec
) -> pa.Array:
    """`normalized` with the texts at `rows` (ascending indices) normalised by `normalize`."""
    if not len(rows):
        return normalized
    mask = np.zeros(len(texts), dtype=bool)
    mask[rows.to_numpy()] = True
    redone = [normalize(text, spec) for text in texts.take(rows).to_pylist()]
    return pc.replace_with_mask(normalized, pa.array(mask), pa.array(redone, normalized.type))


def text_digests(texts: pa.Array, spec: UniquenessSpec) -> pa.Table:
    """(row, digest, normalised text) of the non-null texts: a 64-bit Polars hash of the
    normalised text, in native code. Null text has none: it is unique, as in the seed."""
    import polars as pl

    if pa.types.is_null(texts.type):
        texts = texts.cast(pa.string())
    normalized = normalize_array(texts, spec)
    rows = pc.indices_nonzero(pc.is_valid(normalized))
    kept = normalized.take(rows)
    series = pl.from_arrow(kept)
    assert isinstance(series, pl.Series)
    digests = series.hash(seed=DIGEST_SEED).to_arrow()
    return pa.table({"row": rows, HASH_COLUMN: digests, TEXT_COLUMN: kept})


def group_names(texts: pa.Array) -> pa.Array:
    """The hex of a 12-byte BLAKE2b of each normalised text: it names the duplicate group in
    the output, so it stays stable across runs. Hashed once per distinct text (the rows in
    shared groups only), not per row."""
    distinct = pc.unique(texts)
    names = [
        hashlib.blake2b(value, digest_size=12).hexdigest()
        for value in distinct.cast(pa.binary()).to_numpy(zero_copy_only=False)
    ]
    return pa.array(names, pa.string()).take(pc.index_in(texts, value_set=distinct))


def label_duplicates(texts: pa.Array, rows_in_group: pa.Array) -> pa.StructArray:
    """Labels for rows in a group of `rows_in_group` (> 1) rows with these normalised texts."""
    count = pc.subtract(rows_in_group, 1)
    unique = pc.equal(count, 0)
    return pa.StructArray.from_arrays(
        [unique, count, group_names(texts)], fields=list(UNIQUENESS_TYPE)
    )


class UniquenessScorer:
    """Grouped steps: a digest per row, rows sharing it compared on their normalised text,
    each row of a group of several labelled by the group's size; every other row (null text
    too) takes `default`."""

    group_on = (HASH_COLUMN,)
    combine = None

    def __init__(self, spec: UniquenessSpec) -> None:
        self.spec = spec
        self.key = spec.key
        self.read_columns = (spec.column,)
        self.output_type = spec.output_type()
        self.default: dict[str, Any] = {
            "is_unique": True,
            "duplicate_count": 0,
            "duplicate_group": None,
        }

    def map_block(self, batch: pa.Table, id_col: str) -> pa.Table:
        """(id, digest) of every row with a text."""
        digests = text_digests(batch[self.spec.column].combine_chunks(), self.spec)
        ids = batch[id_col].take(digests["row"])
        return pa.table({id_col: ids, HASH_COLUMN: digests[HASH_COLUMN]})

    def exact(self, rows: pa.Table) -> pa.Table:
        """The normalised text, which rows sharing a digest must share too."""
        texts = rows[self.spec.column].combine_chunks()
        if pa.types.is_null(texts.type):
            texts = texts.cast(pa.string())
        return pa.table({TEXT_COLUMN: normalize_array(texts, self.spec)})

    def label_shared(self, shared: pa.Table, id_col: str) -> pa.Table:
        texts = shared[TEXT_COLUMN].combine_chunks()
        labels = label_duplicates(texts, shared[GROUP_ROWS].combine_chunks())
        return pa.table({id_col: shared[id_col], self.key: labels})
