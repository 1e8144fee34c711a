"""Score records (the score-records seed): one row per (sample, score name), ready to export.

A score's name is the scorer's name (display name or key), plus the field unless it is the
scorer's primary one: "correctness", "quality.pass_rate", "quality.item_2". Its data type
comes from the run's score configs: NUMERIC and BOOLEAN in `value` (1.0/0.0 for booleans),
CATEGORICAL as the category string in `string_value`. A checklist item is a BOOLEAN record
(its answer) with the confidence in its metadata. The trace fields mapped in the spec
(input.trace) travel into every record of the sample. A value outside its config is left
out here; the assemble stage already put the reason into the row's error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from scorers.score_config import ScoreConfig
from scorers.scorer_spec import ScorerSpec

TRACE_FIELDS = ("trace_name", "environment", "user", "author", "tags")
RECORD_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("trace_name", pa.string()),
        ("environment", pa.string()),
        ("user", pa.string()),
        ("author", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("name", pa.string()),
        ("value", pa.float64()),
        ("string_value", pa.string()),
        ("data_type", pa.string()),
        ("source", pa.string()),
        ("comment", pa.string()),
        ("metadata", pa.string()),
        ("config_id", pa.string()),
        ("scorer_key", pa.string()),
        ("purpose", pa.string()),
        ("run_id", pa.string()),
        ("created_at", pa.string()),
    ]
)

RunConfigs = Mapping[str, Mapping[str, ScoreConfig]]  # scorer key -> field -> config


def configs_by_id(
    scorers: Sequence[ScorerSpec], configs: RunConfigs
) -> dict[str, tuple[str, str, ScoreConfig]]:
    """Config id (a score name, or a scorer's item records) -> (scorer key, field, config)."""
    out: dict[str, tuple[str, str, ScoreConfig]] = {}
    for spec in scorers:
        for field, config in configs[spec.key].items():
            out[spec.record_name(field)] = (spec.key, field, config)
        item = spec.item_config()
        if item is not None:
            out[f"{spec.name}.item"] = (spec.key, "item_scores", item)
    return out


def score_configs_json(scorers: Sequence[ScorerSpec], configs: RunConfigs) -> dict[str, Any]:
    """score_configs.json: one entry per config id."""
    return {
        config_id: {"scorer_key": key, "field": field, **config.model_dump()}
        for config_id, (key, field, config) in configs_by_id(scorers, configs).items()
    }


def score_records(
    table: pa.Table,
    id_col: str,
    scorers: Sequence[ScorerSpec],
    configs: RunConfigs,
    trace_columns: Mapping[str, str],
    run_id: str,
    created_at: str,
) -> pa.Table:
    rows: list[dict[str, Any]] = []
    samples = table.to_pylist()
    for spec in scorers:
        fields = configs[spec.key]
        item_config = spec.item_config()
        for sample in samples:
            struct = sample[spec.key]
            if struct is None:
                continue
            common = {
                "sample_id": str(sample[id_col]),
                **_trace(sample, trace_columns),
                "source": "EVAL",
                "scorer_key": spec.key,
                "purpose": spec.purpose,
                "run_id": run_id,
                "created_at": created_at,
            }
            comment = struct.get("unscored_reason")
            metadata = struct.get("metadata")
            for field, config in fields.items():
                value = struct.get(field)
                if config.problem(value) is not None:
                    continue
                rows.append(
                    {
                        **common,
                        **_typed(value, config),
                        "name": spec.record_name(field),
                        "config_id": spec.record_name(field),
                        "comment": comment,
                        "metadata": metadata,
                    }
                )
            for item in spec.item_records(struct):
                assert item_config is not None
                rows.append(
                    {
                        **common,
                        **_typed(item["value"], item_config),
                        "name": item["name"],
                        "config_id": item["config_id"],
                        "comment": item["comment"],
                        "metadata": json.dumps(item["metadata"]),
                    }
                )
    return pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)


def _trace(sample: Mapping[str, Any], trace_columns: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(TRACE_FIELDS)
    for field, column in trace_columns.items():
        value = sample.get(column)
        if field == "tags":
            values[field] = None if value is None else [str(v) for v in value]
        else:
            values[field] = None if value is None else str(value)
    return values


def _typed(value: Any, config: ScoreConfig) -> dict[str, Any]:
    if value is None:
        return {"value": None, "string_value": None, "data_type": config.data_type}
    if config.data_type == "BOOLEAN":
        return {
            "value": float(value),
            "string_value": str(value).lower(),
            "data_type": "BOOLEAN",
        }
    if config.data_type == "NUMERIC":
        return {"value": float(value), "string_value": None, "data_type": "NUMERIC"}
    text = value if isinstance(value, str) else json.dumps(value)
    return {"value": None, "string_value": text, "data_type": "CATEGORICAL"}
