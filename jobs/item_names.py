"""The record name of a checklist item's score and label: "<scorer name>.item_<index>"
("quality.item_2"), as the report, the review app and the annotations all spell it."""

from __future__ import annotations

import polars as pl

ITEM_INFIX = ".item_"


def item_name(scorer_name: str, index: int) -> str:
    return f"{scorer_name}{ITEM_INFIX}{index}"


def item_name_expr(names: dict[str, str]) -> pl.Expr:
    """An `items` row's record name from its `scorer` key (mapped by `names`, scorer key ->
    scorer name; a key not in it gives null) and its `index`."""
    scorer = pl.col("scorer").replace_strict(names, default=None, return_dtype=pl.String)
    return pl.concat_str(scorer, pl.lit(ITEM_INFIX), pl.col("index").cast(pl.String))
