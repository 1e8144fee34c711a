"""Join cross-sample results onto the judged rows, check every score against its config, and
fold the errors into `error`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.cross_sample_stage import ERROR_PREFIX, CrossSampleResult, shuffle_partitions
from scorers.score_config import ScoreConfig
from scorers.scorer_spec import ScorerSpec
from scorers.usage import ERROR_COLUMN

Checks = Mapping[str, Mapping[str, ScoreConfig]]  # scorer key -> field -> config with bounds


def config_checks(
    scorers: Sequence[ScorerSpec], struct_types: Mapping[str, pa.DataType]
) -> tuple[dict[str, dict[str, ScoreConfig]], Checks]:
    """Each scorer's score configs (key -> field -> config), and those a value can fail."""
    configs = {s.key: s.field_configs(struct_types[s.key]) for s in scorers}
    checks = {
        key: {f: c for f, c in fields.items() if c.can_fail(struct_types[key].field(f).type)}
        for key, fields in configs.items()
    }
    return configs, checks


def assemble(
    judged: Any, results: Sequence[CrossSampleResult], id_col: str, rows: int, checks: Checks
) -> Any:
    """Left-join each result by id (a hash shuffle in Ray Data), then finish the rows."""
    partitions = shuffle_partitions(rows)
    joined = judged
    for result in results:
        joined = joined.join(result.dataset, "left_outer", partitions, on=(id_col,))
    defaults = {r.key: (r.default, r.struct_type) for r in results if r.default is not None}
    keys = [r.key for r in results]
    return joined.map_batches(
        finish_rows,
        fn_kwargs={"keys": keys, "defaults": defaults, "checks": checks},
        batch_format="pyarrow",
    )


def finish_rows(
    batch: pa.Table,
    keys: Sequence[str],
    defaults: dict[str, tuple[dict[str, Any], pa.DataType]],
    checks: Checks,
) -> pa.Table:
    for key, (default, struct_type) in defaults.items():
        column = batch[key].combine_chunks()
        if column.null_count:
            filled = [default if v is None else v for v in column.to_pylist()]
            batch = batch.set_column(
                batch.schema.get_field_index(key), key, pa.array(filled, struct_type)
            )
    errors = batch[ERROR_COLUMN]
    for key in keys:
        name = ERROR_PREFIX + key
        if name in batch.column_names:
            errors = _join_errors(errors, batch[name])
            batch = batch.drop_columns([name])
    errors = _join_errors(errors, config_problems(batch, checks))
    return batch.drop_columns([ERROR_COLUMN]).append_column(ERROR_COLUMN, errors)


def config_problems(batch: pa.Table, checks: Checks) -> pa.Array:
    """Per row, every score that does not fit its config ('key.field: why'), or null."""
    problems: list[list[str]] = [[] for _ in range(batch.num_rows)]
    for key, fields in checks.items():
        column = batch[key].combine_chunks()
        for field, config in fields.items():
            values = pc.struct_field(column, field).to_pylist()
            for row, value in enumerate(values):
                problem = config.problem(value)
                if problem is not None:
                    problems[row].append(f"{key}.{field}: {problem}")
    return pa.array(["; ".join(p) if p else None for p in problems], pa.string())


def _join_errors(a: Any, b: Any) -> pa.Array:
    """'a; b' skipping nulls, null when both are."""
    joined = [
        "; ".join(e for e in pair if e) or None
        for pair in zip(a.to_pylist(), b.to_pylist(), strict=True)
    ]
    return pa.array(joined, pa.string())
