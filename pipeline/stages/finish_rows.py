"""A block's rows made final: each cross-sample result joined on by id (small tables, see
CrossSampleResult), its errors and every score that does not fit its config folded into
`error`. Arrow kernels throughout; Python words a reason only for a value that fails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.row_errors import join_errors
from scorers.score_config import ScoreConfig, config_problems
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


def finish_rows(batch: pa.Table, error_columns: Sequence[str], checks: Checks) -> pa.Table:
    """`error` with each of `error_columns` (dropped) and every config problem folded in."""
    errors = batch[ERROR_COLUMN].combine_chunks()
    for name in error_columns:
        if name in batch.column_names:
            errors = join_errors(errors, batch[name].combine_chunks())
            batch = batch.drop_columns([name])
    for key, fields in checks.items():
        column = batch[key].combine_chunks()
        for field, config in fields.items():
            problems = config_problems(pc.struct_field(column, field), config)
            if problems.null_count < len(problems):
                worded = pc.binary_join_element_wise(f"{key}.{field}: ", problems, "")
                errors = join_errors(errors, worded)
    return batch.drop_columns([ERROR_COLUMN]).append_column(ERROR_COLUMN, errors)
