"""Run a job: a plan of named stages, each returning its output; each stage's wall time goes
into the manifest's `timings_s` under its name.

checks         spec paths, input files, columns and ids, annotation names, output path, run
               directory (resume or not, fingerprint): before Ray starts
probe          how each OpenAI-compatible endpoint gives log-probs
ray            join the named cluster, or start a local one; refuse a plan it cannot run
cross_sample   cross-sample scorers that read the input only -> small tables of the rows
               that do not take a default
prior          an incremental run: the earlier run's judgments joined with the input by id
               on the cluster, per shard into the work folder (once; resumed runs keep it)
score          ONE streaming pass: read (one block per shard left) -> per-row scorers ->
               judge actors -> write: every row finished (cross-sample joined, configs
               checked), its score records and summary built, final parts written per shard
               (the resume point); progress from the parts' acks
then, only when something needs every judged row first (pipeline.stages.pass_layout):
cross_sample_scores  whole-dataset scorers that read judged scores
annotations / calibration   labels read, calibration fitted on the labelled rows
second_pass    the judged parts finished and written as final parts
always:
agreement      with annotations: ANNOTATION records, the judge's agreement with them
summary        the parts' footers merged; the row count is checked (a mismatch commits
               nothing)
commit         scores/ and scores_long/ moved into place; score configs and metrics
judgments      every judgment of the run (fresh and reused) moved into judgments/, for a
               later incremental run (pipeline.incremental)
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
from pipeline.engine_build import check_local_engine_build
from pipeline.incremental.prestage import match_prior
from pipeline.incremental.recording import commit_judgments
from pipeline.incremental.summary import incremental_block
from pipeline.manifest import build_manifest
from pipeline.plan import plan_of
from pipeline.ray_notices import spend_actor_restart_warning
from pipeline.resources import check_resources, live_nodes
from pipeline.spec import JobSpec
from pipeline.stages.agreement import agreement_stage
from pipeline.stages.clock import StageClock
from pipeline.stages.commit import commit_stage
from pipeline.stages.cross_sample import JudgedRows, cross_sample_results
from pipeline.stages.labels import calibration_fit, human_labels
from pipeline.stages.pass_layout import layout_of
from pipeline.stages.score_configs import run_configs
from pipeline.stages.score_pass import score_pass
from pipeline.stages.scored_folders import ScoredFolders
from pipeline.stages.second_pass import second_pass
from pipeline.stages.summary import RowCountMismatch, summary_stage
from pipeline.stages.writers import final_writer, judged_writer, one_pass_folder
from pipeline.storage.parts import list_parts
from pipeline.storage.run_dir import MANIFEST, METRICS, SCORES, SCORES_LONG, WORK, RunDirectory
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
    if not (ray_address or os.environ.get("RAY_ADDRESS")):
        check_local_engine_build(plan_of(spec).used_judges)  # its judges would run here
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
    layout = layout_of(run.plan, run.source.schema.names)
    judged_keys = tuple(s.key for s in run.plan.data_pass)
    no_rows = JudgedRows((), run.run_dir.arrow_fs, judged_keys)
    cross = clock.run(
        "cross_sample", cross_sample_results, run.plan, run.source, no_rows, layout.before
    )
    prior = clock.run("prior", match_prior, run) if run.earlier is not None else None
    calibration = None
    if not layout.second_pass:
        configs, checks, _ = run_configs(run, cross)
        folder = one_pass_folder(run)
        writer = final_writer(run, folder, cross, configs, checks)
        work = clock.run("score", score_pass, run, writer, verbose, prior)
        scored = ScoredFolders(f"{folder}/{SCORES}", f"{folder}/{SCORES_LONG}", configs)
        human = clock.run("annotations", human_labels, run, configs)
    else:
        writer = judged_writer(run)
        work = clock.run("score", score_pass, run, writer, verbose, prior)
        parts = list_parts(writer.folder, run.run_dir.arrow_fs)
        judged = JudgedRows(tuple(p.path for p in parts), run.run_dir.arrow_fs, judged_keys)
        cross += clock.run(
            "cross_sample_scores",
            cross_sample_results,
            run.plan,
            run.source,
            judged,
            layout.after,
        )
        configs, checks, schema = run_configs(run, cross, parts)
        human = clock.run("annotations", human_labels, run, configs)
        calibration = clock.run("calibration", calibration_fit, run, writer.folder, human)
        staging = clock.run(
            "second_pass", second_pass, run, parts, schema, cross, configs, checks, calibration
        )
        scored = ScoredFolders(f"{staging}/{SCORES}", f"{staging}/{SCORES_LONG}", configs)
    agreement = clock.run("agreement", agreement_stage, run, scored, human)
    summary = clock.run("summary", summary_stage, run, scored)
    metrics = clock.run("commit", commit_stage, run, scored, summary, agreement, calibration)
    parts_folder = writer.folder if layout.second_pass else run.run_dir.scores_path  # committed
    recorded = clock.run("judgments", commit_judgments, run, parts_folder)
    requests = summary["usage"]["judge_requests"]
    incremental = incremental_block(run, prior, recorded, requests)
    manifest = build_manifest(run, summary, work, clock, endpoints, incremental, recorded)
    run.run_dir.write_json(MANIFEST, manifest)
    run.release()  # finished: its lease goes with the work folder
    run.run_dir.remove(run.run_dir.join(WORK))  # parts and staging: all in scores/ now
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
    paths = {name: endpoint_path(judge) for name, judge in run.plan.used_judges.items()}
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
        check_resources(run.plan.used_judges, live_nodes())
