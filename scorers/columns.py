"""The input columns a scorer reads, each with the kind of values it needs.

The kinds let the input check say, before anything starts, that a column has the wrong type
("column 'response' is int64; definition.scorers.0.target_column needs text").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

ColumnKind = Literal["text", "items", "text_or_list", "number", "label", "any"]

KIND_NEEDS: dict[ColumnKind, str] = {
    "text": "text",
    "items": "a list",
    "text_or_list": "text or a list",
    "number": "a number",
    "label": "a plain value (text, number or boolean)",
    "any": "any column",
}


@dataclass(frozen=True)
class InputColumn:
    """`name` is read by the scorer as `kind`; `spec_key` is the spec field that named it.

    `may_be_scorer_output`: the name may instead be a judged scorer's key, whose output
    column is then read (cross-sample scorers that look at judged scores).
    """

    name: str
    kind: ColumnKind
    spec_key: str
    may_be_scorer_output: bool = False


def accepts(kind: ColumnKind, dtype: pa.DataType) -> bool:
    text = bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype))
    listed = bool(pa.types.is_list(dtype) or pa.types.is_large_list(dtype))
    if kind == "text":
        return text
    if kind == "items":
        return listed
    if kind == "text_or_list":
        return text or listed
    if kind == "number":
        return bool(pa.types.is_integer(dtype) or pa.types.is_floating(dtype))
    if kind == "label":
        return not bool(pa.types.is_nested(dtype))
    return True


def columns_named(*named: tuple[str | None, ColumnKind, str]) -> list[InputColumn]:
    """InputColumns for the (column, kind, spec key) triples whose column is set."""
    return [InputColumn(name, kind, key) for name, kind, key in named if name is not None]
