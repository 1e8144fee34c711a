"""The run's score configs (scorer key -> field -> config) and the checks a value can fail,
from each scorer's output type: declared by the scorer, a cross-sample result's, or (for a
scorer that types its output at run time) read from the judged parts' unified schema."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from pipeline.attempt import Run
from pipeline.stages.cross_sample import CrossSampleResult
from pipeline.stages.finish_rows import Checks, config_checks
from pipeline.storage.parts import Part, parts_schema
from scorers.score_config import ScoreConfig

Configs = dict[str, dict[str, ScoreConfig]]


def run_configs(
    run: Run, cross: Sequence[CrossSampleResult], judged: Sequence[Part] = ()
) -> tuple[Configs, Checks, pa.Schema | None]:
    """(configs, checks, the judged parts' unified schema when it was read)."""
    in_pass = run.plan.data_pass
    schema = None
    if any(s.output_type() is None for s in in_pass):
        schema = parts_schema([p.path for p in judged], run.run_dir.arrow_fs)
    struct_types: dict[str, pa.DataType] = {}
    for scorer in in_pass:
        declared = scorer.output_type()
        struct_types[scorer.key] = declared if declared is not None else _field(schema, scorer.key)
    struct_types |= {c.key: c.struct_type for c in cross}
    configs, checks = config_checks(run.spec.definition.scorers, struct_types)
    return configs, checks, schema


def _field(schema: pa.Schema | None, key: str) -> pa.DataType:
    assert schema is not None
    return schema.field(key).type
