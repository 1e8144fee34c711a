"""Attach cross-sample results to the judged rows, check every score against its config, and
fold the errors into `error`."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.cross_sample_stage import ERROR_PREFIX, CrossSampleResult, attach_cross_sample
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
    """Attach each result to every block by id (its table travels once to each worker, as
    an object ref; no shuffle of the corpus), then finish the rows."""
    import ray

    refs = [ray.put(r.table) for r in results]
    tableless = [replace(r, table=r.table.schema.empty_table()) for r in results]
    keys = [r.key for r in results]
    return judged.map_batches(
        _attach_and_finish,
        fn_kwargs={
            "results": tableless,
            "refs": refs,
            "id_col": id_col,
            "keys": keys,
            "checks": checks,
        },
        batch_format="pyarrow",
    )


def _attach_and_finish(
    batch: pa.Table,
    results: Sequence[CrossSampleResult],
    refs: Sequence[Any],
    id_col: str,
    keys: Sequence[str],
    checks: Checks,
) -> pa.Table:
    tables = [replace(r, table=_fetched(ref)) for r, ref in zip(results, refs, strict=True)]
    attached = attach_cross_sample(batch, tables, id_col)
    return finish_rows(attached, keys=keys, defaults={}, checks=checks)


@functools.lru_cache(maxsize=16)
def _fetched(ref: Any) -> pa.Table:
    """A result's table, fetched once per worker process, not once per batch."""
    import ray

    table: pa.Table = ray.get(ref)
    return table


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
