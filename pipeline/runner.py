"""Run a job: a plan of named stages, each returning its output; each stage's wall time goes
into the manifest's `timings_s` under its name.

checks         spec paths, input files, columns and ids, run directory: before Ray starts
ray            join the named cluster, or start a local one
judge          read Parquet (needed columns) -> judge actors, one engine each; a batch of
               samples = one engine call per label set -> staged judged rows
cross_sample   cross-sample scorers over the input (and judged rows): Ray Data group-bys, or
               one task per whole-dataset scorer -> (id, struct) datasets
assemble       judged rows + cross-sample results, hash-joined by id -> staged scores/
score_records  staged scores/ -> staged scores_long/ (one record per sample and score name)
summary        one pass over staged scores/: row, error and token counts, metric partials;
               the row count is checked here (a mismatch commits nothing, staging is kept)
commit         scores/ and scores_long/ moved into place; metrics.json and metrics.parquet
then the manifest, built from the stages' outputs and times.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from pipeline.cross_sample_stage import cross_sample_results
from pipeline.manifest import build_manifest
from pipeline.run_dir import MANIFEST
from pipeline.spec import JobSpec
from pipeline.stages import (
    RowCountMismatch,
    StageClock,
    assemble_stage,
    check_job,
    commit_stage,
    judge_stage,
    records_stage,
    summary_stage,
)

__all__ = ["RowCountMismatch", "RunResult", "run_job"]


@dataclass(frozen=True)
class RunResult:
    run_dir: str
    metrics: dict[str, Any]
    manifest: dict[str, Any]


def run_job(
    spec: JobSpec,
    *,
    overwrite: bool = False,
    ray_address: str | None = None,
    spec_file: str | None = None,
) -> RunResult:
    clock = StageClock()
    run = clock.run("checks", check_job, spec, overwrite, spec_file)
    clock.run("ray", connect_ray, ray_address)
    judged = clock.run("judge", judge_stage, run)
    cross = clock.run("cross_sample", cross_sample_results, run.spec, run.source, judged)
    scores = clock.run("assemble", assemble_stage, run, judged, cross)
    records = clock.run("score_records", records_stage, run, scores)
    summary = clock.run("summary", summary_stage, run, scores)
    metrics = clock.run("commit", commit_stage, run, scores, records, summary)
    manifest = build_manifest(run, summary, clock)
    run.run_dir.write_json(MANIFEST, manifest)
    return RunResult(run_dir=run.spec.output.path, metrics=metrics, manifest=manifest)


def connect_ray(address: str | None) -> None:
    """Connect to `address` (or RAY_ADDRESS); otherwise start a fresh local cluster.

    Plain ray.init() would also join whatever cluster a `ray start` left on this machine,
    and hang on one that is gone; a cluster is used only when it is named.
    """
    import ray

    if ray.is_initialized():
        return
    ray.init(
        address=address or os.environ.get("RAY_ADDRESS") or "local",
        include_dashboard=False,
        configure_logging=True,
        logging_level=logging.WARNING,
    )
