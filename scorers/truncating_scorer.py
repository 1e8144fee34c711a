"""A judged scorer whose spec has `truncate`: its text column cut to fit before it prepares.

Any judged kind gets the cut the same way: the column is cut in tokens of the judge's own
tokenizer (the judge does it, where the tokenizer is), the kind prepares its prompts from the
cut text as it would from the original, and its struct gets each row's `truncated` flag and
the number of tokens dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.judge.generation import Generated
from scorers.judge.result import JudgeResult
from scorers.judged import JudgedScorer, PreparedBatch, ScoredBatch
from scorers.row_text import is_text
from scorers.templates import TEXT
from scorers.truncate_spec import TRUNCATION_FIELDS, Side, TruncateSpec
from scorers.truncation import CutTexts


@runtime_checkable
class TextTruncator(Protocol):
    """A judge that cuts texts with its own tokenizer (scorers.truncation.truncate_texts)."""

    def truncate_texts(self, texts: Sequence[str], max_tokens: int, side: Side) -> CutTexts: ...


@dataclass(frozen=True)
class TruncatedPlan:
    inner: Any  # the kind's own plan
    dropped_tokens: np.ndarray  # per row of the batch


class TruncatingScorer:
    def __init__(self, inner: JudgedScorer, truncate: TruncateSpec) -> None:
        self.inner = inner
        self.truncate = truncate

    @property
    def key(self) -> str:
        return self.inner.key

    def prepare(self, table: pa.Table) -> PreparedBatch:
        raise TypeError(
            f"scorer {self.key!r} cuts its texts with the judge's tokenizer: prepare it with "
            "scorers.judged.prepare_batch(scorer, table, judge)"
        )

    def prepare_with(self, table: pa.Table, judge: object) -> PreparedBatch:
        if not isinstance(judge, TextTruncator):
            raise TypeError(
                f"scorer {self.key!r}: truncate needs a judge with a local tokenizer (backend "
                f"vllm); {type(judge).__name__} has none"
            )
        name = self.truncate.column
        column = table[name].combine_chunks()
        dropped = np.zeros(table.num_rows, np.int64)
        if is_text(column.type):
            cut = judge.truncate_texts(
                pc.fill_null(column.cast(TEXT), "").to_pylist(),
                self.truncate.max_tokens,
                self.truncate.side,
            )
            dropped = cut.dropped_tokens
            texts = pa.array(cut.texts, TEXT, mask=column.is_null())
            table = table.set_column(table.schema.get_field_index(name), name, texts)
        prepared = self.inner.prepare(table)
        return replace(prepared, plan=TruncatedPlan(prepared.plan, dropped))

    def finish(
        self, prepared: PreparedBatch, results: Sequence[JudgeResult] | Sequence[Generated]
    ) -> ScoredBatch:
        plan: TruncatedPlan = prepared.plan
        scored = self.inner.finish(replace(prepared, plan=plan.inner), results)
        return replace(scored, scores=with_truncation(scored.scores, plan.dropped_tokens))


def with_truncation(scores: pa.Array, dropped_tokens: np.ndarray) -> pa.StructArray:
    """The structs with each row's truncation fields set (added where the kind has none)."""
    assert isinstance(scores, pa.StructArray)
    values = {
        "truncated": pa.array(dropped_tokens > 0),
        "truncated_tokens": pa.array(dropped_tokens),
    }
    fields = list(scores.type)
    children = scores.flatten()
    for name, dtype in TRUNCATION_FIELDS:
        index = scores.type.get_field_index(name)
        if index < 0:
            fields.append(pa.field(name, dtype))
            children.append(values[name].cast(dtype))
        else:
            children[index] = values[name].cast(dtype)
    mask = scores.is_null() if scores.null_count else None
    return pa.StructArray.from_arrays(children, fields=fields, mask=mask)
