"""Per judged scorer, what the judge's context did to its rows, counted from the written
structs: rows (and items) unscored because a prompt was longer than the judge's
max_model_len, and, for a scorer with `truncate`, the rows cut and the tokens dropped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from scorers.judge.result import PROMPT_TOO_LONG

Counts = dict[str, dict[str, int]]  # scorer key -> count name -> count


def context_counts(table: pa.Table, scorer_keys: Sequence[str]) -> Counts:
    counts: Counts = {}
    for key in scorer_keys:
        struct_type = table.schema.field(key).type
        if not pa.types.is_struct(struct_type) or "unscored_reason" not in struct_type.names:
            continue  # a kind that does not say why a row is unscored
        column = table[key].combine_chunks()
        reasons = pc.struct_field(column, "unscored_reason")
        # a checklist's reason names each unscored item: one match per item
        too_long = pc.count_substring_regex(reasons, PROMPT_TOO_LONG.pattern)
        entry = {
            "rows_too_long": _sum(pc.greater(too_long, 0)),
            "items_too_long": _sum(too_long),
        }
        if "truncated" in struct_type.names:
            entry["truncated_rows"] = _sum(pc.struct_field(column, "truncated"))
            entry["truncated_tokens"] = _sum(pc.struct_field(column, "truncated_tokens"))
        counts[key] = entry
    return counts


def merge_context_counts(total: Counts, part: Mapping[str, Mapping[str, int]]) -> Counts:
    merged = {key: dict(entry) for key, entry in total.items()}
    for key, entry in part.items():
        mine = merged.setdefault(key, {})
        for name, count in entry.items():
            mine[name] = mine.get(name, 0) + count
    return merged


def _sum(values: pa.Array) -> int:
    return int(pc.sum(values.cast(pa.int64())).as_py() or 0)
