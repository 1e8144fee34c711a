"""What every judged scorer reports about its judge work, and the error column every row has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

ERROR_COLUMN = "error"
USAGE_FIELD = "usage"  # the struct field of a judged scorer's output that holds these counts
USAGE_FIELDS = (
    "judge_requests",
    "prompt_tokens",
    "cached_prompt_tokens",
    "generated_tokens",
    "requests_without_logprobs",  # answered in text only: no confidence (see TextAnswerResult)
    "requests_without_label",  # label mass under judge.min_label_mass: unscored (NoLabelResult)
)
USAGE_TYPE = pa.struct([(name, pa.int64()) for name in USAGE_FIELDS])
NO_USAGE: dict[str, int] = dict.fromkeys(USAGE_FIELDS, 0)


class CountedRequest(Protocol):
    @property
    def prompt_tokens(self) -> int: ...

    @property
    def cached_tokens(self) -> int: ...

    @property
    def generated_tokens(self) -> int: ...

    @property
    def without_logprobs(self) -> bool: ...

    @property
    def without_label(self) -> bool: ...


def usage_totals(table: pa.Table, scorer_keys: Sequence[str]) -> dict[str, int]:
    """The usage of every row of `table`, summed over the scorers that report one."""
    usage = dict.fromkeys(USAGE_FIELDS, 0)
    for key in scorer_keys:
        if USAGE_FIELD not in table.schema.field(key).type.names:
            continue  # a kind that does not report its judge work
        column = pc.struct_field(table[key].combine_chunks(), USAGE_FIELD)
        for name in USAGE_FIELDS:
            if name in column.type.names:  # parts written before a field was added lack it
                usage[name] += pc.sum(pc.struct_field(column, name)).as_py() or 0
    return usage


def usage_by_scorer(table: pa.Table, scorer_keys: Sequence[str], name: str) -> dict[str, int]:
    """One usage field summed per scorer, for the scorers whose usage has it."""
    counts = {}
    for key in scorer_keys:
        if USAGE_FIELD not in table.schema.field(key).type.names:
            continue
        column = pc.struct_field(table[key].combine_chunks(), USAGE_FIELD)
        if name in column.type.names:
            counts[key] = pc.sum(pc.struct_field(column, name)).as_py() or 0
    return counts


def usage_of(results: Sequence[CountedRequest]) -> dict[str, int]:
    return {
        "judge_requests": len(results),
        "prompt_tokens": sum(r.prompt_tokens for r in results),
        "cached_prompt_tokens": sum(r.cached_tokens for r in results),
        "generated_tokens": sum(r.generated_tokens for r in results),
        "requests_without_logprobs": sum(r.without_logprobs for r in results),
        "requests_without_label": sum(r.without_label for r in results),
    }
