"""Exact duplicates: normalise, hash, group rows by hash, label each row by its group's size.

`normalize` defines the normalisation; `normalize_array` gives the same strings for a whole
column in Arrow kernels.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.cross_sample.fields import UNIQUENESS_TYPE
from scorers.cross_sample.spec import UniquenessSpec
from scorers.cross_sample.steps import SharedGroups

HASH_COLUMN = "__text_hash"
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


def text_hashes(texts: pa.Array, spec: UniquenessSpec) -> pa.Array:
    """The hex of a 12-byte BLAKE2b of each normalised text: it names the duplicate group in
    the output, so it stays stable across runs. Null text has no hash (it is unique, as in
    the seed)."""
    if pa.types.is_null(texts.type):
        texts = texts.cast(pa.string())
    normalized = normalize_array(texts, spec).cast(pa.binary())
    return pa.array(
        [
            None if value is None else hashlib.blake2b(value, digest_size=12).hexdigest()
            for value in normalized.to_numpy(zero_copy_only=False)
        ],
        pa.string(),
    )


def group_sizes(hashes: pa.Array, shared: SharedGroups) -> pa.Array:
    """Rows in each row's hash group: its count in `shared`, else 1 (null hashes too)."""
    # One dict probe per row: `shared` arrives as a Python mapping that may be far larger
    # than the block, so turning it into Arrow arrays for pc.index_in costs more per block.
    return pa.array(
        [
            1 if h is None or (group := shared.get((h,))) is None else group[1]
            for h in hashes.to_pylist()
        ],
        pa.int64(),
    )


def label_groups(hashes: pa.Array, sizes: pa.Array) -> pa.StructArray:
    """Labels for rows with these hashes, members of hash groups of these sizes."""
    unique = pc.equal(sizes, 1)
    group = pc.if_else(unique, pa.scalar(None, pa.string()), hashes)
    return pa.StructArray.from_arrays(
        [unique, pc.subtract(sizes, 1), group], fields=list(UNIQUENESS_TYPE)
    )


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
        chunks = [text_hashes(chunk, self.spec) for chunk in batch[self.spec.column].chunks]
        hashes = pa.chunked_array(chunks, pa.string())
        return pa.table({id_col: batch[id_col], HASH_COLUMN: hashes})

    def finish_block(self, keyed: pa.Table, shared: SharedGroups, id_col: str) -> pa.Table:
        hashes = keyed[HASH_COLUMN].combine_chunks()
        labels = label_groups(hashes, group_sizes(hashes, shared))
        return pa.table({id_col: keyed[id_col], self.key: labels})
