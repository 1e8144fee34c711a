"""A batch's checklist inputs as columns: the rows that can be scored, their texts, and their
checklist items flattened in row order; for every other row, why not, worded as
`sample_input` words it (Python reads only those rows, and columns of unusual types)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.checklist.checklist_input import history_text, parse_row_checklist
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec
from scorers.row_text import RowInputError, is_text, problems_of, scorable_rows, text_columns
from scorers.segments import segment_of
from scorers.templates import TEXT

# every character str.strip() removes (all lie below U+3001), for Arrow's regex engine
_PYTHON_SPACE = "".join(f"\\x{{{c:x}}}" for c in range(0x3001) if chr(c).isspace())
BLANK = f"^[{_PYTHON_SPACE}]*$"
DEFAULT_WEIGHT = 100.0
ALL_WEIGHTS_ZERO = "every checklist weight is 0; the weighted score is undefined"


@dataclass(frozen=True)
class Items:
    """Checklist items per row: `counts[r]` consecutive questions and weights are row r's."""

    counts: np.ndarray
    questions: pa.Array
    weights: np.ndarray

    def of_rows(self, keep: np.ndarray) -> Items:
        """The items of the rows where `keep` is true."""
        mine = keep[segment_of(self.counts)]
        return Items(self.counts[keep], self.questions.filter(mine), self.weights[mine])

    def emptied(self, drop: np.ndarray) -> Items:
        """The same rows, those where `drop` is true left with no items."""
        mine = ~drop[segment_of(self.counts)]
        counts = np.where(drop, 0, self.counts)
        return Items(counts, self.questions.filter(mine), self.weights[mine])


@dataclass(frozen=True)
class ChecklistBatch:
    row_count: int
    rows: np.ndarray  # the scorable rows, ascending; the fields below are theirs
    problems: dict[int, str]
    input: pa.Array
    target: pa.Array
    history: pa.Array
    items: Items


def checklist_batch(spec: ChecklistScorerSpec, table: pa.Table) -> ChecklistBatch:
    """`sample_input` for every row of `table` at once."""
    n = table.num_rows
    texts = text_columns(table, spec.input_column, spec.target_column)
    item_problems: dict[int, str] = {}
    if spec.checklist is not None:
        items = fixed_items(spec.checklist, n)
    else:
        assert spec.checklist_column is not None
        items, item_problems = row_checklists(table, spec.checklist_column)
    history, history_problems = history_column(table, spec.history_column)
    problems = dict(texts.problems)
    for later in (item_problems, zero_weight_problems(spec, items), history_problems):
        for row, reason in later.items():
            problems.setdefault(row, reason)
    rows = scorable_rows(n, problems)
    keep = np.zeros(n, dtype=bool)
    keep[rows] = True
    return ChecklistBatch(
        row_count=n,
        rows=rows,
        problems=problems,
        input=texts.input.take(rows),
        target=texts.target.take(rows),
        history=history.take(rows),
        items=items.of_rows(keep),
    )


def fixed_items(checklist: list[ChecklistItem], row_count: int) -> Items:
    every_row = np.tile(np.arange(len(checklist)), row_count)
    return Items(
        counts=np.full(row_count, len(checklist)),
        questions=pa.array([item.question for item in checklist], TEXT).take(every_row),
        weights=np.array([item.weight for item in checklist], dtype=float)[every_row],
    )


def zero_weight_problems(spec: ChecklistScorerSpec, items: Items) -> dict[int, str]:
    if spec.primary_metric != "weighted":
        return {}
    weighted = np.bincount(
        segment_of(items.counts)[items.weights != 0], minlength=len(items.counts)
    )
    return dict.fromkeys(
        np.flatnonzero((items.counts > 0) & (weighted == 0)).tolist(), ALL_WEIGHTS_ZERO
    )


def row_checklists(table: pa.Table, column: str) -> tuple[Items, dict[int, str]]:
    """Each row's checklist from a list of questions or of {question, weight} structs; a
    column of any other type is read row by row."""
    values = table[column].combine_chunks()
    read = _entries_reader(values.type)
    if read is None:
        return _row_by_row(values.to_pylist(), column)
    lengths = pc.list_value_length(values).fill_null(0).to_numpy()
    questions, weights, bad_entry = read(values.flatten())
    flagged = values.is_null().to_numpy(zero_copy_only=False) | (lengths == 0)
    flagged[segment_of(lengths)[bad_entry]] = True
    problems = problems_of(
        table.select([column]), flagged, lambda row: parse_row_checklist(column, row[column])
    )
    return Items(lengths, questions, weights).emptied(flagged), problems


Entries = tuple[pa.Array, np.ndarray, np.ndarray]  # questions, weights, which entries are bad


def _entries_reader(dtype: pa.DataType) -> Callable[[pa.Array], Entries] | None:
    """How to read a list column's entries with Arrow kernels; None: not a type they cover."""
    if not (pa.types.is_list(dtype) or pa.types.is_large_list(dtype)):
        return None
    entry = dtype.value_type
    if is_text(entry):
        return _question_entries
    if not pa.types.is_struct(entry) or entry.get_field_index("question") < 0:
        return None
    if not is_text(entry.field("question").type):
        return None
    if entry.get_field_index("weight") < 0:
        return _struct_entries
    weight = entry.field("weight").type
    if pa.types.is_integer(weight) or pa.types.is_float32(weight) or pa.types.is_float64(weight):
        return _struct_entries
    return None  # bool, float16, decimal...: Python's own checks decide


def _question_entries(entries: pa.Array) -> Entries:
    questions = entries.cast(TEXT)
    bad = entries.is_null().to_numpy(zero_copy_only=False) | _blank(questions)
    return pc.fill_null(questions, ""), np.full(len(entries), DEFAULT_WEIGHT), bad


def _struct_entries(entries: pa.Array) -> Entries:
    questions = pc.struct_field(entries, "question").cast(TEXT)
    bad = entries.is_null().to_numpy(zero_copy_only=False)
    bad |= pc.is_null(questions).to_numpy(zero_copy_only=False) | _blank(questions)
    weights = np.full(len(entries), DEFAULT_WEIGHT)
    if entries.type.get_field_index("weight") >= 0:
        given = pc.struct_field(entries, "weight").cast(pa.float64(), safe=False)
        values = given.to_numpy(zero_copy_only=False)  # NaN where null
        has = given.is_valid().to_numpy(zero_copy_only=False)
        in_range = (values >= 0) & (values <= 100)  # false for NaN
        bad |= has & ~in_range
        weights[has] = values[has]
    return pc.fill_null(questions, ""), weights, bad


def _blank(questions: pa.Array) -> np.ndarray:
    blank = pc.match_substring_regex(questions, BLANK).fill_null(False)
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


def _row_by_row(values: list[Any], column: str) -> tuple[Items, dict[int, str]]:
    checklists: list[tuple[ChecklistItem, ...]] = []
    problems: dict[int, str] = {}
    for row, value in enumerate(values):
        try:
            checklists.append(parse_row_checklist(column, value))
        except RowInputError as exc:
            problems[row] = str(exc)
            checklists.append(())
    items = [item for checklist in checklists for item in checklist]
    return (
        Items(
            counts=np.array([len(c) for c in checklists], dtype=np.int64),
            questions=pa.array([item.question for item in items], TEXT),
            weights=np.array([item.weight for item in items], dtype=float),
        ),
        problems,
    )


def history_column(table: pa.Table, column: str | None) -> tuple[pa.Array, dict[int, str]]:
    """`history_text` per row: text as is, a list of texts one turn per line (a null turn
    reads "None", as str() has it); a column of any other type is read row by row."""
    if column is None:
        return pa.array([""] * table.num_rows, TEXT), {}
    values = table[column].combine_chunks()
    dtype = values.type
    if is_text(dtype):
        return pc.fill_null(values.cast(TEXT), ""), {}
    if (pa.types.is_list(dtype) or pa.types.is_large_list(dtype)) and is_text(dtype.value_type):
        lengths = pc.list_value_length(values).fill_null(0).to_numpy()
        offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]), pa.int64())
        turns = pc.fill_null(values.flatten().cast(TEXT), "None")
        lists = pa.LargeListArray.from_arrays(offsets, turns, mask=values.is_null())
        return pc.fill_null(pc.binary_join(lists, pa.scalar("\n", TEXT)), ""), {}
    texts: list[str] = []
    problems: dict[int, str] = {}
    for row, value in enumerate(values.to_pylist()):
        try:
            texts.append(history_text(column, value))
        except RowInputError as exc:
            problems[row] = str(exc)
            texts.append("")
    return pa.array(texts, TEXT), problems
