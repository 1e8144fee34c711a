"""A checklist's items as scores of their own: one BOOLEAN record per item (its answer), with
its question, weight and confidences in the metadata; ChecklistScorerSpec.item_records, column
by column."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from scorers.checklist.calibrated import ITEMS
from scorers.hooks.items_hook import ItemRecordColumns
from scorers.struct_fields import field_or_nulls

METADATA_FIELDS = ("question", "weight", "confidence", "calibrated_confidence", "confidence_level")


@dataclass(frozen=True)
class ChecklistItems:
    list_field: str = ITEMS

    def record_columns(self, structs: pa.Array, scorer_name: str) -> ItemRecordColumns:
        lists = field_or_nulls(structs, self.list_field)
        parents = pc.indices_nonzero(pc.is_valid(lists))
        if lists.null_count:  # dropped: list_parent_indices would count the values behind them
            lists = pc.filter(lists, pc.is_valid(lists))
        items = pc.list_flatten(lists)
        index = pc.fill_null(pc.cast(field_or_nulls(items, "index"), pa.string()), "None")
        reasoning = field_or_nulls(items, "reasoning")
        has_reasoning = pc.fill_null(pc.greater(pc.utf8_length(reasoning), 0), False)
        return ItemRecordColumns(
            parent=parents.take(pc.list_parent_indices(lists)),
            name=pc.binary_join_element_wise(f"{scorer_name}.item_", index, ""),
            value=pc.equal(field_or_nulls(items, "answer"), "yes"),
            comment=pc.if_else(has_reasoning, reasoning, field_or_nulls(items, "unscored_reason")),
            metadata={name: field_or_nulls(items, name) for name in METADATA_FIELDS},
        )


CHECKLIST_ITEMS = ChecklistItems()
