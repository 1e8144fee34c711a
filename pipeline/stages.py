"""The stages of a run, each a function from what earlier stages produced to its own output.

The runner lists them in order; every output is staged under the run directory's staging
folder and committed only after the row count is checked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from pipeline.annotation_names import (
    ScoreNames,
    declared_labels,
    names_after_scoring,
    source_of,
    with_config_ids,
)
from pipeline.assemble import assemble, config_checks
from pipeline.attempt import Run
from pipeline.cross_sample_stage import CrossSampleResult, JudgedRows
from pipeline.score_records import (
    RECORD_SCHEMA,
    sample_fields,
    score_configs_json,
    score_records,
)
from pipeline.storage.run_dir import (
    AGREEMENT,
    AGREEMENT_TABLE,
    CALIBRATION,
    METRICS,
    METRICS_TABLE,
    SCORE_CONFIGS,
    SCORES,
    SCORES_LONG,
)
from pipeline.storage.shards import shards_schema
from pipeline.summary import merge_summaries, summary_batch
from scorers.metrics.aggregate import finalize
from scorers.metrics.metrics_table import metrics_rows
from scorers.score_config import ScoreConfig

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa
    import pyarrow.dataset as pads

P = ParamSpec("P")
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


def human_labels(run: Run, scores: Scores) -> pl.DataFrame | None:
    """The spec's annotations, read once for the calibration and agreement stages, each with
    the config id its name falls under: a name that names none of the run's scores is
    refused (the load checks already did so wherever the spec alone knows the names)."""
    from pipeline.annotations import read_annotations

    spec = run.spec
    if spec.annotations is None:
        return None
    human = read_annotations(
        spec.annotations,
        spec.input.id_column,
        run.source.files,
        run.source.filesystem,
        spec.input.storage_options,
    )
    return with_config_ids(human, run_score_names(run, scores), source_of(spec.annotations))


def run_score_names(run: Run, scores: Scores) -> ScoreNames:
    """The run's config ids, as score_configs.json lists them."""
    return names_after_scoring(run.spec.definition.scorers, scores.configs, run.spec.calibration)


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
    scores_long/ (with the trace fields of their samples), and the judge's agreement with
    them."""
    import polars as pl
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    from pipeline.annotation_records import annotation_records
    from pipeline.annotations import agreement

    spec = run.spec
    if human is None:
        return None
    configs = run_score_names(run, scores).configs
    by_name = dict(human.select("name", "config_id").unique().iter_rows())
    known = {name: configs[config_id][2] for name, config_id in by_name.items()}
    names = [*known, *(f"{name}.confidence" for name in known)]
    evaluations = pl.from_arrow(
        _dataset(records, run).to_table(filter=pads.field("name").isin(names))
    )
    assert isinstance(evaluations, pl.DataFrame)
    purposes = {s.key: s.purpose for s in spec.definition.scorers}
    samples = _annotated_samples(run, scores, human["sample_id"].unique().to_list())
    pq.write_table(
        annotation_records(human, configs, purposes, samples, run.run_id, run.started_at),
        f"{records}/annotations.parquet",
        filesystem=run.run_dir.arrow_fs,
    )
    return agreement(evaluations, human, known)


def _dataset(path: str, run: Run) -> pads.Dataset:
    import pyarrow.dataset as pads

    return pads.dataset(path, filesystem=run.run_dir.arrow_fs, format="parquet")


def _annotated_samples(run: Run, scores: Scores, ids: list[str]) -> pa.Table:
    """Sample id and trace fields (score_records.sample_fields) of the labelled samples: the
    id and trace columns of scores/ only."""
    import pyarrow as pa
    import pyarrow.compute as pc

    trace = run.spec.input.trace.mapping()
    id_col = run.spec.input.id_column
    table = _dataset(scores.path, run).to_table(columns=[id_col, *dict.fromkeys(trace.values())])
    fields = sample_fields(table, id_col, trace)
    labelled = pc.is_in(fields["sample_id"], value_set=pa.array(ids, pa.string()))
    return pa.table(fields).filter(labelled)


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
    labels = declared_labels(run.spec.calibration)
    run.run_dir.write_json(
        SCORE_CONFIGS, score_configs_json(run.spec.definition.scorers, scores.configs, labels)
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
