"""Score records (the score-records seed): one row per (sample, score name), ready to export.

A score's name is the scorer's name (display name or key), plus the field unless it is the
scorer's primary one: "correctness", "quality.pass_rate", "quality.item_2". Its data type
comes from the run's score configs: NUMERIC and BOOLEAN in `value` (1.0/0.0 for booleans),
CATEGORICAL as the category string in `string_value`. A checklist item is a BOOLEAN record
(its answer) with the confidence in its metadata. The trace fields mapped in the spec
(input.trace) travel into every record of the sample. A value outside its config is left
out here; the assemble stage already put the reason into the row's error.

Records are built column by column with Arrow compute: per scorer, one run of records per
score field (the rows whose value fits) and one for the items of a kind that offers an items
hook (scorers.hooks.ItemsHook: the flattened item lists), put in sample order by a stable sort
on the row. Python formats values one by one only where Arrow's text differs from Python's:
JSON in item metadata (once per distinct value), id and trace columns that are neither text
nor integers, values whose type is not their config's, and the items of kinds that define
their own `item_records` without an items hook.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from scorers.hooks.items_hook import ItemRecordColumns
from scorers.registry import hooks_of
from scorers.score_config import ScoreConfig, fits
from scorers.scorer_spec import ScorerSpec
from scorers.struct_fields import field_or_nulls

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
EVAL, ANNOTATION = "EVAL", "ANNOTATION"  # a record's source: the judge's, or a human's
ROW = "row"  # a score's sample: its position in the batch
# What a record takes from its score rather than from its sample or its scorer.
SCORE_SCHEMA = pa.schema(
    [
        pa.field(ROW, pa.uint64()),
        *(
            RECORD_SCHEMA.field(name)
            for name in (
                "name",
                "value",
                "string_value",
                "data_type",
                "comment",
                "metadata",
                "config_id",
            )
        ),
    ]
)

RunConfigs = Mapping[str, Mapping[str, ScoreConfig]]  # scorer key -> field -> config
# A config id's scorer key, field (None for a label that is no field of the scorer's) and config
ConfigEntry = tuple[str, str | None, ScoreConfig]


def configs_by_id(
    scorers: Sequence[ScorerSpec],
    configs: RunConfigs,
    labels: Mapping[str, ConfigEntry] | None = None,
) -> dict[str, ConfigEntry]:
    """Config id (a score name, or a scorer's item records) -> (scorer key, field, config);
    then `labels`: names the spec declares for human labels only, unless a score has them."""
    out: dict[str, ConfigEntry] = {}
    for spec in scorers:
        for field, config in configs[spec.key].items():
            out[spec.record_name(field)] = (spec.key, field, config)
        item = spec.item_config()
        if item is not None:
            out[f"{spec.name}.item"] = (spec.key, "item_scores", item)
    return out | {name: entry for name, entry in (labels or {}).items() if name not in out}


def score_configs_json(
    scorers: Sequence[ScorerSpec],
    configs: RunConfigs,
    labels: Mapping[str, ConfigEntry] | None = None,
) -> dict[str, Any]:
    """score_configs.json: one entry per config id."""
    return {
        config_id: {"scorer_key": key, "field": field, **config.model_dump()}
        for config_id, (key, field, config) in configs_by_id(scorers, configs, labels).items()
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
    """Each scorer's records in turn; within a scorer, sample by sample: its score fields in
    config order, then its items. A row whose scorer struct is null has none of its records."""
    samples = sample_fields(table, id_col, trace_columns)
    scorer_tables = []
    for spec in scorers:
        scores = _scores(table[spec.key].combine_chunks(), spec, configs[spec.key])
        scorer = {
            "source": EVAL,
            "scorer_key": spec.key,
            "purpose": spec.purpose,
            "run_id": run_id,
            "created_at": created_at,
        }
        scorer_tables.append(_records(scores, samples, scorer))
    return pa.concat_tables([RECORD_SCHEMA.empty_table(), *scorer_tables])


def _records(
    scores: pa.Table, samples: Mapping[str, pa.Array], scorer: Mapping[str, str]
) -> pa.Table:
    """RECORD_SCHEMA rows: each score with its sample's fields and its scorer's."""
    rows = scores[ROW]
    columns = {
        **{name: values.take(rows) for name, values in samples.items()},
        **{name: scores[name] for name in SCORE_SCHEMA.names[1:]},
        **{name: pa.repeat(text, scores.num_rows) for name, text in scorer.items()},
    }
    return pa.Table.from_arrays(
        [columns[name] for name in RECORD_SCHEMA.names], schema=RECORD_SCHEMA
    )


def _scores(structs: pa.Array, spec: ScorerSpec, fields: Mapping[str, ScoreConfig]) -> pa.Table:
    """SCORE_SCHEMA rows of one scorer, in sample order."""
    present = pc.is_valid(structs)
    rows = pc.indices_nonzero(present)
    scored = pc.filter(structs, present) if structs.null_count else structs
    comment = _text(field_or_nulls(scored, "unscored_reason"))
    metadata = _text(field_or_nulls(scored, "metadata"))
    runs = [
        _field_scores(
            field_or_nulls(scored, field), rows, spec.record_name(field), config, comment, metadata
        )
        for field, config in fields.items()
    ]
    runs.append(_item_scores(scored, rows, spec))
    scores = pa.concat_tables(runs)
    return scores.take(pc.sort_indices(scores[ROW]))  # stable: fields, then items, per row


def _field_scores(
    values: pa.Array,
    rows: pa.Array,
    name: str,
    config: ScoreConfig,
    comment: pa.Array,
    metadata: pa.Array,
) -> pa.Table:
    """One field's records: the rows whose value fits its config."""
    fitting = fits(values, config)
    if fitting is not None:
        values, rows, comment, metadata = (
            pc.filter(a, fitting) for a in (values, rows, comment, metadata)
        )
    value, string_value = _typed(values, config)
    return _score_table(rows, name, name, value, string_value, config, comment, metadata)


def _score_table(
    rows: pa.Array,
    name: str | pa.Array,
    config_id: str,
    value: pa.Array,
    string_value: pa.Array,
    config: ScoreConfig,
    comment: pa.Array,
    metadata: pa.Array,
) -> pa.Table:
    count = len(rows)
    names = pa.repeat(name, count) if isinstance(name, str) else name
    columns = [
        rows,
        names,
        value,
        string_value,
        pa.repeat(config.data_type, count),
        comment,
        metadata,
        pa.repeat(config_id, count),
    ]
    return pa.Table.from_arrays(columns, schema=SCORE_SCHEMA)


def _typed(values: pa.Array, config: ScoreConfig) -> tuple[pa.Array, pa.Array]:
    """`value` and `string_value` of values that fit `config`."""
    count = len(values)
    if config.data_type == "CATEGORICAL":
        text = pc.cast(values, pa.string()) if _is_text(values.type) else _json(values)
        return pa.nulls(count, pa.float64()), text
    if values.null_count == count:  # also every value that fits a config of another type
        return pa.nulls(count, pa.float64()), pa.nulls(count, pa.string())
    number = pc.cast(values, pa.float64(), safe=False)
    if config.data_type == "BOOLEAN":
        return number, pc.if_else(values, "true", "false")
    return number, pa.nulls(count, pa.string())


def _item_scores(scored: pa.Array, rows: pa.Array, spec: ScorerSpec) -> pa.Table:
    """The records of the items in each row's struct, if the kind has any: column by column
    where the kind offers an items hook, else struct by struct (the spec's item_records)."""
    config = spec.item_config()
    if config is None:
        return SCORE_SCHEMA.empty_table()
    items = hooks_of(spec).items
    if items is not None:
        return _columnar_item_scores(items.record_columns(scored, spec.name), rows, spec, config)
    if type(spec).item_records is ScorerSpec.item_records:
        return SCORE_SCHEMA.empty_table()
    return _python_item_scores(scored, rows, spec, config)


def _columnar_item_scores(
    items: ItemRecordColumns, rows: pa.Array, spec: ScorerSpec, config: ScoreConfig
) -> pa.Table:
    value, string_value = _typed(items.value, config)
    return _score_table(
        rows.take(items.parent),
        items.name,
        f"{spec.name}.item",
        value,
        string_value,
        config,
        items.comment,
        _json_object(items.metadata),
    )


def _python_item_scores(
    scored: pa.Array, rows: pa.Array, spec: ScorerSpec, config: ScoreConfig
) -> pa.Table:
    """Items of a kind with its own item_records: asked struct by struct."""
    found = [
        (row, item)
        for row, struct in zip(rows.to_pylist(), scored.to_pylist(), strict=True)
        for item in spec.item_records(struct)
    ]
    records = [
        {
            ROW: row,
            "name": item["name"],
            "config_id": item["config_id"],
            "comment": item["comment"],
            "metadata": json.dumps(item["metadata"]),
            **_typed_value(item["value"], config),
        }
        for row, item in found
    ]
    return pa.Table.from_pylist(records, schema=SCORE_SCHEMA)


def _typed_value(value: Any, config: ScoreConfig) -> dict[str, Any]:
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


def _json_object(fields: Mapping[str, pa.Array]) -> pa.Array:
    """Per row, json.dumps of the dict {name: value} of these fields, in this order."""
    parts: list[Any] = []
    for position, (name, values) in enumerate(fields.items()):
        parts.append(("{" if position == 0 else ", ") + json.dumps(name) + ": ")
        parts.append(pc.fill_null(_json(values), "null"))
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def _json(values: pa.Array) -> pa.Array:
    """json.dumps of each value, formatted once per distinct value; null stays null."""
    encoded = pc.dictionary_encode(values)
    dump = _json_float if values.type in (pa.float32(), pa.float64()) else json.dumps
    texts = [dump(v) for v in encoded.dictionary.to_pylist()]
    return pa.array(texts, pa.string()).take(encoded.indices)


def _json_float(value: float) -> str:
    """json.dumps(value), without the encoder's overhead for every finite number."""
    return float.__repr__(value) if math.isfinite(value) else json.dumps(value)


def sample_fields(
    table: pa.Table, id_col: str, trace_columns: Mapping[str, str]
) -> dict[str, pa.Array]:
    """Per row of the batch: the sample id and the trace fields, as text."""
    fields = {"sample_id": pc.fill_null(_text(table[id_col].combine_chunks()), "None")}
    for field in TRACE_FIELDS:
        column = trace_columns.get(field)
        kind = RECORD_SCHEMA.field(field).type
        if column is None or column not in table.column_names:
            fields[field] = pa.nulls(table.num_rows, kind)
        elif field == "tags":
            fields[field] = _text_lists(table[column].combine_chunks())
        else:
            fields[field] = _text(table[column].combine_chunks())
    return fields


def _text(values: pa.Array) -> pa.Array:
    """str() of each value; null stays null."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if _is_text(values.type) or pa.types.is_integer(values.type) or pa.types.is_null(values.type):
        return pc.cast(values, pa.string())
    return pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())


def _text_lists(values: pa.Array) -> pa.Array:
    """Each list as a list of str() of its values (a null value is "None"); null stays null."""
    if not (pa.types.is_list(values.type) or pa.types.is_large_list(values.type)):
        lists = [None if v is None else [str(x) for x in v] for v in values.to_pylist()]
        return pa.array(lists, pa.list_(pa.string()))
    lengths = pc.fill_null(pc.list_value_length(values), 0)
    ends = pc.cumulative_sum(pc.cast(lengths, pa.int32()))
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), ends])
    texts = pc.fill_null(_text(pc.list_flatten(values)), "None")
    return pa.ListArray.from_arrays(offsets, texts, mask=pc.is_null(values))


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
