"""Score records (the score-records seed): one row per (sample, score name), ready to export.

Every scalar field of every scorer's struct becomes a record: numbers NUMERIC, booleans
BOOLEAN (value 1.0/0.0), text CATEGORICAL. A checklist's items become one record each
(value = confidence, string_value = answer, comment = reasoning, metadata = the question).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

RECORD_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("name", pa.string()),
        ("value", pa.float64()),
        ("string_value", pa.string()),
        ("data_type", pa.string()),
        ("source", pa.string()),
        ("comment", pa.string()),
        ("metadata", pa.string()),
        ("scorer_key", pa.string()),
        ("run_id", pa.string()),
        ("created_at", pa.string()),
    ]
)
NOT_SCORES = frozenset(
    {"item_scores", "usage", "unscored_reason", "metadata", "primary_metric", "distribution"}
)


def score_records(
    table: pa.Table, id_col: str, scorer_keys: Sequence[str], run_id: str, created_at: str
) -> pa.Table:
    rows: list[dict[str, Any]] = []
    ids = table[id_col].to_pylist()
    for key in scorer_keys:
        kinds = _data_types(table.schema.field(key).type)
        for sample_id, struct in zip(ids, table[key].to_pylist(), strict=True):
            if struct is None:
                continue
            common = {
                "sample_id": str(sample_id),
                "source": "EVAL",
                "scorer_key": key,
                "run_id": run_id,
                "created_at": created_at,
            }
            comment = struct.get("unscored_reason")
            metadata = struct.get("metadata")
            for name, value in struct.items():
                if name in NOT_SCORES:
                    continue
                rows.append(
                    {
                        **common,
                        **_typed(value, kinds[name]),
                        "name": name,
                        "comment": comment,
                        "metadata": metadata,
                    }
                )
            for item in struct.get("item_scores") or []:
                rows.append({**common, **_item_record(item)})
    return pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)


def _data_types(struct_type: pa.DataType) -> dict[str, str]:
    kinds = {}
    for field in struct_type:
        if pa.types.is_boolean(field.type):
            kinds[field.name] = "BOOLEAN"
        elif pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
            kinds[field.name] = "NUMERIC"
        else:
            kinds[field.name] = "CATEGORICAL"
    return kinds


def _typed(value: Any, data_type: str) -> dict[str, Any]:
    if data_type == "BOOLEAN":
        return {
            "value": None if value is None else float(value),
            "string_value": None if value is None else str(value).lower(),
            "data_type": data_type,
        }
    if data_type == "NUMERIC":
        return {"value": value, "string_value": None, "data_type": data_type}
    text = None if value is None else value if isinstance(value, str) else json.dumps(value)
    return {"value": None, "string_value": text, "data_type": data_type}


def _item_record(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"item_{item['index']}",
        "value": item["confidence"],
        "string_value": item["answer"],
        "data_type": "NUMERIC",
        "comment": item.get("reasoning") or item.get("unscored_reason"),
        "metadata": json.dumps(
            {
                "question": item["question"],
                "weight": item["weight"],
                "confidence_level": item["confidence_level"],
            }
        ),
    }
