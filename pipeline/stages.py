"""The stages of a run, each a function from what earlier stages produced to its own output.

The runner lists them in order; every output is staged under the run directory's staging
folder and committed only after the row count is checked.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from pipeline.assemble import assemble, config_checks
from pipeline.attempt import Run
from pipeline.cross_sample_stage import CrossSampleResult, JudgedRows
from pipeline.run_dir import (
    AGREEMENT,
    AGREEMENT_TABLE,
    CALIBRATION,
    METRICS,
    METRICS_TABLE,
    SCORE_CONFIGS,
    SCORES,
    SCORES_LONG,
)
from pipeline.score_records import (
    RECORD_SCHEMA,
    configs_by_id,
    score_configs_json,
    score_records,
)
from pipeline.shards import shards_schema
from pipeline.summary import merge_summaries, summary_batch
from scorers.metrics.aggregate import finalize
from scorers.metrics.metrics_table import metrics_rows
from scorers.score_config import ScoreConfig

if TYPE_CHECKING:
    import polars as pl

P = ParamSpec("P")
ITEM_NAME = re.compile(r"\.item_\d+$")  # a checklist item's record name -> its config id
T = TypeVar("T")


class RowCountMismatch(RuntimeError):
    pass


@dataclass
class StageClock:
    """Runs stages in order and records each one's wall time in seconds."""

    started: float = field(default_factory=time.time)
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, stage: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        began = time.time()
        output = stage(*args, **kwargs)
        self.timings[name] = round(time.time() - began, 3)
        return output


@dataclass(frozen=True)
class Scores:
    """The staged scores/ and the run's score configs (scorer key -> field -> config)."""

    path: str
    configs: dict[str, dict[str, ScoreConfig]]


def assemble_stage(run: Run, judged: JudgedRows, results: Sequence[CrossSampleResult]) -> Scores:
    """The staged scores/: the shards' rows (in one schema), each cross-sample result joined
    on by id, and every score checked against its config (a value outside it is an error in
    its row)."""
    import ray

    in_pass = run.spec.data_pass_scorers()
    # A scorer that types its struct at run time types it per batch: every shard's own counts.
    every_shard = any(s.output_type() is None for s in in_pass)
    schema = shards_schema(judged.files, judged.filesystem, every_shard)
    struct_types = {s.key: schema.field(s.key).type for s in in_pass}
    struct_types |= {r.key: r.struct_type for r in results}
    configs, checks = config_checks(run.spec.definition.scorers, struct_types)
    rows = ray.data.read_parquet(list(judged.files), filesystem=judged.filesystem, schema=schema)
    final = assemble(rows, results, run.spec.input.id_column, run.source.num_rows, checks)
    path = f"{run.staging}/{SCORES}"
    final.write_parquet(path, filesystem=run.run_dir.arrow_fs)
    return Scores(path, configs)


def human_labels(run: Run) -> pl.DataFrame | None:
    """The spec's annotations, read once for the calibration and agreement stages."""
    from pipeline.annotations import read_annotations

    spec = run.spec
    if spec.annotations is None:
        return None
    return read_annotations(
        spec.annotations,
        spec.input.id_column,
        run.source.files,
        run.source.filesystem,
        spec.input.storage_options,
    )


def calibration_stage(
    run: Run, scores: Scores, human: pl.DataFrame | None
) -> tuple[Scores, dict[str, Any] | None]:
    """With `calibration`: fit it on the labelled samples (or take calibration.from's), then
    write calibrated confidences (and the composite) into a new staged scores/."""
    import ray

    from pipeline.calibration import calibrate_batch, fit, read_labelled

    spec = run.spec
    if spec.calibration is None:
        return scores, None
    checklists = spec.checklist_scorers()
    calibration = run.stored_calibration
    if calibration is None:
        assert human is not None  # fitting requires annotations (JobSpec checks)
        labelled = read_labelled(
            scores.path,
            run.run_dir.arrow_fs,
            spec.input.id_column,
            human["sample_id"].unique().to_list(),
            [c.key for c in checklists],
        )
        calibration = fit(spec.calibration, human, labelled, spec.input.id_column, checklists)
    path = f"{scores.path}-calibrated"
    ray.data.read_parquet(scores.path, filesystem=run.run_dir.arrow_fs).map_batches(
        calibrate_batch,
        fn_kwargs={
            "calibration": calibration,
            "checklists": {c.key: c.name for c in checklists},
        },
        batch_format="pyarrow",
    ).write_parquet(path, filesystem=run.run_dir.arrow_fs)
    return Scores(path, scores.configs), calibration


def records_stage(run: Run, scores: Scores) -> str:
    """The staged scores_long/: one score record per (sample, score name)."""
    import ray

    path = f"{run.staging}/{SCORES_LONG}"
    ray.data.read_parquet(scores.path, filesystem=run.run_dir.arrow_fs).map_batches(
        score_records,
        fn_kwargs={
            "id_col": run.spec.input.id_column,
            "scorers": run.spec.definition.scorers,
            "configs": scores.configs,
            "trace_columns": run.spec.input.trace.mapping(),
            "run_id": run.run_id,
            "created_at": run.started_at,
        },
        batch_format="pyarrow",
        # A whole block is millions of narrow rows, each several records: slices keep a
        # task's working set small.
        batch_size=8192,
    ).write_parquet(path, filesystem=run.run_dir.arrow_fs)
    run.run_dir.ensure_table(path, RECORD_SCHEMA)
    return path


def agreement_stage(
    run: Run, scores: Scores, records: str, human: pl.DataFrame | None
) -> dict[str, Any] | None:
    """With annotations: their ANNOTATION records beside the EVAL ones in the staged
    scores_long/, and the judge's agreement with them."""
    import polars as pl
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    from pipeline.annotations import agreement, annotation_records

    spec = run.spec
    if human is None:
        return None
    configs = {
        config_id: config
        for config_id, (_, _, config) in configs_by_id(
            spec.definition.scorers, scores.configs
        ).items()
    }
    by_name = {name: configs.get(ITEM_NAME.sub(".item", name)) for name in human["name"].unique()}
    known = {name: config for name, config in by_name.items() if config is not None}
    names = [*known, *(f"{name}.confidence" for name in known)]
    evaluations = pl.from_arrow(
        pads.dataset(records, filesystem=run.run_dir.arrow_fs).to_table(
            filter=pads.field("name").isin(names)
        )
    )
    assert isinstance(evaluations, pl.DataFrame)
    pq.write_table(
        annotation_records(human, known, run.run_id, run.started_at),
        f"{records}/annotations.parquet",
        filesystem=run.run_dir.arrow_fs,
    )
    return agreement(evaluations, human, known)


def summary_stage(run: Run, scores: Scores) -> dict[str, Any]:
    """One pass over the staged scores: counts and metric partials, merged; the row count is
    checked here, so a run that lost or repeated rows commits nothing."""
    import ray

    metrics = run.spec.bound_metrics()
    blocks = (
        ray.data.read_parquet(scores.path, filesystem=run.run_dir.arrow_fs)
        .map_batches(
            summary_batch,
            fn_kwargs={
                "scorer_keys": [s.key for s in run.spec.judged_scorers()],
                "metrics": metrics,
            },
            batch_format="pyarrow",
            batch_size=None,
        )
        .take_all()
    )
    summary = merge_summaries([json.loads(row["summary"]) for row in blocks], metrics)
    if summary["rows"] != run.source.num_rows:
        raise RowCountMismatch(
            f"{run.source.num_rows} input rows but {summary['rows']} scored rows in "
            f"{scores.path}; nothing was committed (if two runs wrote to this output.path at "
            "once, start it over with --restart)"
        )
    return summary


def commit_stage(
    run: Run,
    scores: Scores,
    records: str,
    summary: dict[str, Any],
    agreement: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Move scores/ and scores_long/ into place, then write score configs and metrics;
    returns the metrics."""
    for staged, name in ((scores.path, SCORES), (records, SCORES_LONG)):
        run.run_dir.remove(run.run_dir.join(name))  # an earlier attempt's, cut off mid-commit
        run.run_dir.commit(staged, name)
    run.run_dir.write_json(
        SCORE_CONFIGS, score_configs_json(run.spec.definition.scorers, scores.configs)
    )
    if calibration is not None:
        run.run_dir.write_json(CALIBRATION, calibration)
    if agreement is not None:
        from pipeline.annotations import agreement_rows

        run.run_dir.write_json(AGREEMENT, agreement)
        run.run_dir.write_table(AGREEMENT_TABLE, agreement_rows(agreement))
    metrics = finalize(summary["metrics"], run.spec.bound_metrics())
    run.run_dir.write_json(METRICS, metrics)
    run.run_dir.write_table(METRICS_TABLE, metrics_rows(metrics))
    return metrics
