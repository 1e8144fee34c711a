"""Run a job: a plan of named stages, each returning its output; each stage's wall time goes
into the manifest's `timings_s` under its name.

checks         spec paths, input files, columns and ids, annotation names, output path, run
               directory (resume or not, fingerprint): before Ray starts
ray            join the named cluster, or start a local one; refuse a plan it cannot run
judge          rows not yet judged -> per-row scorers (plain tasks) -> judge actors, one
               engine each -> one committed shard per block (the resume point); progress
               from the shards' acks
cross_sample   cross-sample scorers over the input (and judged rows): Ray Data group-bys, or
               one task per whole-dataset scorer -> (id, struct) datasets
assemble       judged rows + cross-sample results, hash-joined by id, every score checked
               against its config -> staged scores/
annotations    with `annotations`: the human labels, read once for calibration and agreement,
               each name checked against the run's score configs
calibration    with `calibration`: fit on the labelled samples (or read calibration.from's),
               then calibrated item confidences and the composite -> staged scores/
score_records  staged scores/ -> staged scores_long/ (one record per sample and score name)
summary        one pass over staged scores/: row, error and token counts, metric partials;
               the row count is checked here (a mismatch commits nothing)
commit         scores/ and scores_long/ moved into place; score configs and metrics
then the manifest, built from the stages' outputs and times; a run built beside a finished
one it replaces (--overwrite) takes its place only now.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

from pipeline.attempt import Run, RunComplete, check_job
from pipeline.cross_sample_stage import cross_sample_results
from pipeline.judge_stage import judge_stage
from pipeline.manifest import build_manifest
from pipeline.ray_notices import spend_actor_restart_warning
from pipeline.resources import check_resources, live_nodes
from pipeline.spec import JobSpec
from pipeline.stages import (
    RowCountMismatch,
    StageClock,
    agreement_stage,
    assemble_stage,
    calibration_stage,
    commit_stage,
    human_labels,
    records_stage,
    summary_stage,
)
from pipeline.storage.run_dir import MANIFEST, METRICS, WORK, RunDirectory
from scorers.judge.build import endpoint_path

__all__ = ["RowCountMismatch", "RunResult", "run_job"]


@dataclass(frozen=True)
class RunResult:
    run_dir: str
    metrics: dict[str, Any]
    manifest: dict[str, Any]
    already_complete: bool = False  # output.path held this job's finished run: nothing ran


def run_job(
    spec: JobSpec,
    *,
    overwrite: bool = False,
    restart: bool = False,
    ray_address: str | None = None,
    spec_file: str | None = None,
    verbose: bool = False,
    check_cluster: bool = True,
) -> RunResult:
    clock = StageClock()
    try:
        run = clock.run("checks", check_job, spec, spec_file, overwrite=overwrite, restart=restart)
    except RunComplete as complete:
        return finished_result(complete.run_dir, spec.output.path)
    try:
        return _run(run, clock, ray_address, verbose, check_cluster)
    finally:
        run.release()


def _run(
    run: Run, clock: StageClock, ray_address: str | None, verbose: bool, check_cluster: bool
) -> RunResult:
    endpoints = clock.run("probe", probe_endpoints, run)
    clock.run("ray", start_ray, run, ray_address, verbose, check_cluster)
    judged, work = clock.run("judge", judge_stage, run, verbose)
    cross = clock.run("cross_sample", cross_sample_results, run.spec, run.source, judged)
    scores = clock.run("assemble", assemble_stage, run, judged, cross)
    human = clock.run("annotations", human_labels, run, scores)
    scores, calibration = clock.run("calibration", calibration_stage, run, scores, human)
    records = clock.run("score_records", records_stage, run, scores)
    agreement = clock.run("agreement", agreement_stage, run, scores, records, human)
    summary = clock.run("summary", summary_stage, run, scores)
    metrics = clock.run(
        "commit", commit_stage, run, scores, records, summary, agreement, calibration
    )
    manifest = build_manifest(run, summary, work, clock, endpoints)
    run.run_dir.write_json(MANIFEST, manifest)
    run.release()  # finished: its lease goes with the work folder
    run.run_dir.remove(run.run_dir.join(WORK))  # shards and staging: all in scores/ now
    if run.replaces:
        run.run_dir.replace(run.target)
    return RunResult(run_dir=run.spec.output.path, metrics=metrics, manifest=manifest)


def finished_result(run_dir: RunDirectory, uri: str) -> RunResult:
    """What a finished run recorded, read back: nothing is run or rewritten."""
    return RunResult(
        run_dir=uri,
        metrics=run_dir.read_json(METRICS),
        manifest=run_dir.read_json(MANIFEST),
        already_complete=True,
    )


def probe_endpoints(run: Run) -> dict[str, str]:
    """Judge name -> how its endpoint is read, for judges behind an OpenAI-compatible API:
    found once up front, said in the manifest and the run's output."""
    paths = {name: endpoint_path(judge) for name, judge in run.spec.used_judges().items()}
    return {name: path.describe() for name, path in paths.items() if path is not None}


def connect_ray(address: str | None, verbose: bool) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS), or start a fresh local one; True when
    it joined a cluster that others may share.

    Plain ray.init() would also join whatever cluster a `ray start` left on this machine,
    and hang on one that is gone; a cluster is used only when it is named.
    """
    named = address or os.environ.get("RAY_ADDRESS")
    if not named and "ray" not in sys.modules:
        # A local cluster keeps Ray's default, token authentication; said explicitly, Ray
        # prints no notice about it. Ray reads the mode once, when it is imported.
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    import ray

    if not ray.is_initialized():
        ray.init(
            address=named or "local",
            include_dashboard=False,
            configure_logging=True,
            logging_level=logging.INFO if verbose else logging.WARNING,
            log_to_driver=verbose,
        )
    return bool(named)


def start_ray(run: Run, address: str | None, verbose: bool, check_cluster: bool) -> None:
    """Connect to Ray (connect_ray), then refuse a plan the cluster cannot run, before any
    actor waits for resources."""
    connect_ray(address, verbose)  # first: it sets what Ray reads when it is imported
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = verbose
    context.raise_original_map_exception = True  # e.g. JudgeKeepsFailing, not a wrapper
    context.print_on_execution_start = verbose
    if not verbose:
        # Ray Data logs a failing task's traceback itself; the error reaches the caller anyway
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)
        spend_actor_restart_warning()  # a false alarm about every judge actor pool
    if check_cluster:
        check_resources(run.spec.used_judges(), live_nodes())
