"""A kind whose struct holds a list of items, each a score of its own (a checklist's).

The kind says where its items are and what each item's record holds; the pipeline makes the
records (their types, the metadata's JSON) and the results' one-row-per-item view from that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa


@dataclass(frozen=True)
class ItemRecordColumns:
    """One entry per item of a scorer's (non-null) structs, column by column."""

    parent: pa.Array  # the position of the item's struct in the structs given
    name: pa.Array  # its record name: "<scorer name>.item_<index>"
    value: pa.Array  # its value, of the type of the spec's item_config()
    comment: pa.Array  # text, or null
    metadata: Mapping[str, pa.Array]  # the fields of its metadata object, in this order


class ItemsHook(Protocol):
    @property
    def list_field(self) -> str:
        """The struct field that lists the item structs."""
        ...

    def record_columns(self, structs: pa.Array, scorer_name: str) -> ItemRecordColumns:
        """The item records of these structs (none of them null), in struct order."""
        ...
