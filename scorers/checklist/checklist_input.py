"""Read one sample's checklist scorer inputs from a row, or say exactly what is wrong with it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scorers.checklist.prompt import item_prompts
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec
from scorers.row_text import RowInputError, row_texts


@dataclass(frozen=True)
class SampleInput:
    input_text: str
    target: str
    items: tuple[ChecklistItem, ...]
    history: str = ""

    def item_prompts(self, template: str) -> list[str]:
        """One prompt per checklist item, all sharing this sample's prefix."""
        questions = [item.question for item in self.items]
        return item_prompts(template, self.input_text, self.target, questions, self.history)


def sample_input(spec: ChecklistScorerSpec, row: dict[str, Any]) -> SampleInput:
    input_text, target = row_texts(row, spec.input_column, spec.target_column)
    if spec.checklist is not None:
        items = tuple(spec.checklist)
    else:
        assert spec.checklist_column is not None
        items = parse_row_checklist(spec.checklist_column, row.get(spec.checklist_column))
    if spec.primary_metric == "weighted" and sum(i.weight for i in items) == 0:
        raise RowInputError("every checklist weight is 0; the weighted score is undefined")
    history = ""
    if spec.history_column is not None:
        history = history_text(spec.history_column, row.get(spec.history_column))
    return SampleInput(input_text=input_text, target=target, items=items, history=history)


def history_text(column: str, value: Any) -> str:
    """The conversation so far as text: a list's turns one per line, null as ""."""
    if isinstance(value, list):
        value = "\n".join(str(turn) for turn in value)
    if value is not None and not isinstance(value, str):
        raise RowInputError(f"{column!r} is {type(value).__name__}, not text")
    return value or ""


def parse_row_checklist(column: str, value: Any) -> tuple[ChecklistItem, ...]:
    """A per-row checklist: a list of question strings or of {question, weight} mappings."""
    if value is None:
        raise RowInputError(f"{column!r} is null")
    if not isinstance(value, list | tuple) or not value:
        raise RowInputError(f"{column!r} must be a non-empty list of questions")
    items = []
    for n, entry in enumerate(value, start=1):
        where = f"{column!r} item {n}"
        if isinstance(entry, str):
            entry = {"question": entry}
        if not isinstance(entry, dict):
            raise RowInputError(f"{where}: expected a string or {{question, weight}}")
        question = entry.get("question")
        if not isinstance(question, str) or not question.strip():
            raise RowInputError(f"{where}: 'question' must be non-empty text")
        weight = entry.get("weight")
        weight = 100.0 if weight is None else weight
        if not isinstance(weight, int | float) or math.isnan(weight) or not 0 <= weight <= 100:
            raise RowInputError(f"{where}: weight must be a number in [0, 100], got {weight!r}")
        items.append(ChecklistItem(question=question, weight=float(weight)))
    return tuple(items)
