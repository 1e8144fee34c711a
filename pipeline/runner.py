"""Run a job: check everything cheap first, then the Ray Data plan, then metrics and manifest.

read Parquet (needed columns only)
  -> judge actors (one vLLM engine each; a batch of samples = one engine call)
  -> write scores/ (staged, moved into place when complete)
  -> one summary pass over scores/: row/error/token counts + metric partials, merged here
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.assemble import join_cross_sample
from pipeline.cross_sample_stage import cross_sample_results
from pipeline.manifest import model_fingerprint, package_versions
from pipeline.resolve import resolve_spec_paths
from pipeline.run_dir import (
    MANIFEST,
    METRICS,
    METRICS_TABLE,
    SCORES,
    SCORES_LONG,
    RunDirectory,
)
from pipeline.score_records import RECORD_SCHEMA, score_records
from pipeline.source import InputSource, resolve_input
from pipeline.spec import JobSpec, JudgeSpec
from pipeline.summary import merge_summaries, summary_batch
from scorers.metrics.aggregate import bound_metrics, finalize
from scorers.metrics.metrics_table import metrics_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    run_dir: str
    metrics: dict[str, Any]
    manifest: dict[str, Any]


class RowCountMismatch(RuntimeError):
    pass


def run_job(
    spec: JobSpec,
    *,
    overwrite: bool = False,
    ray_address: str | None = None,
    spec_file: str | None = None,
) -> RunResult:
    started = time.time()
    run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    spec = resolve_spec_paths(spec)
    if spec.judge is not None:
        judge_env(spec.judge)
    source = resolve_input(spec)
    run_dir = RunDirectory(spec.output.path)
    run_dir.prepare(overwrite)
    checked = time.time()

    import ray

    _ensure_ray(ray_address)
    staging = run_dir.staging_path(run_id)
    judged_path = f"{staging}/judged"
    _judged_rows(spec, source).write_parquet(judged_path, filesystem=run_dir.arrow_fs)
    judged_at = time.time()
    results = cross_sample_results(spec, source, judged=(judged_path, run_dir.arrow_fs))
    if results:
        judged = ray.data.read_parquet(judged_path, filesystem=run_dir.arrow_fs)
        final = join_cross_sample(judged, results, spec.input.id_column, source.num_rows)
        final.write_parquet(f"{staging}/{SCORES}", filesystem=run_dir.arrow_fs)
        run_dir.commit(f"{staging}/{SCORES}", SCORES)
    else:
        run_dir.commit(judged_path, SCORES)
    ray.data.read_parquet(run_dir.scores_path, filesystem=run_dir.arrow_fs).map_batches(
        score_records,
        fn_kwargs={
            "id_col": spec.input.id_column,
            "scorer_keys": [s.key for s in spec.definition.scorers],
            "run_id": run_id,
            "created_at": _iso(started),
        },
        batch_format="pyarrow",
    ).write_parquet(f"{staging}/{SCORES_LONG}", filesystem=run_dir.arrow_fs)
    run_dir.ensure_table(f"{staging}/{SCORES_LONG}", RECORD_SCHEMA)
    run_dir.commit(f"{staging}/{SCORES_LONG}", SCORES_LONG)
    run_dir.remove(staging)
    written = time.time()

    metrics_spec = bound_metrics(spec)
    scorer_keys = [s.key for s in spec.judged_scorers()]
    summaries = (
        ray.data.read_parquet(run_dir.scores_path, filesystem=run_dir.arrow_fs)
        .map_batches(
            summary_batch,
            fn_kwargs={"scorer_keys": scorer_keys, "metrics": metrics_spec},
            batch_format="pyarrow",
            batch_size=None,
        )
        .take_all()
    )
    summary = merge_summaries([json.loads(row["summary"]) for row in summaries], metrics_spec)
    if summary["rows"] != source.num_rows:
        raise RowCountMismatch(
            f"{source.num_rows} input rows but {summary['rows']} scored rows "
            f"in {run_dir.scores_path}"
        )
    metrics = finalize(summary["metrics"], metrics_spec)
    run_dir.write_json(METRICS, metrics)
    run_dir.write_table(METRICS_TABLE, metrics_rows(metrics))
    finished = time.time()
    usage = summary["usage"]
    manifest = {
        "run_id": run_id,
        "name": spec.name,
        "spec_file": str(Path(spec_file).resolve()) if spec_file else None,
        "spec": spec.model_dump(mode="json"),
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "versions": package_versions(),
        "model": model_fingerprint(spec.judge.model) if spec.judge else None,
        "input": {"uri": spec.input.path, "files": len(source.files), "rows": source.num_rows},
        "rows": {"in": source.num_rows, "out": summary["rows"], "errored": summary["errored"]},
        "judge": {
            "requests": usage["judge_requests"],
            "prompt_tokens": usage["prompt_tokens"],
            "cached_prompt_tokens": usage["cached_prompt_tokens"],
            "computed_prompt_tokens": usage["prompt_tokens"] - usage["cached_prompt_tokens"],
        },
        "timings_s": {
            "wall": round(finished - started, 3),
            "checks": round(checked - started, 3),
            "judge": round(judged_at - checked, 3),
            "cross_sample": round(written - judged_at, 3),
            "summary": round(finished - written, 3),
        },
    }
    run_dir.write_json(MANIFEST, manifest)
    return RunResult(run_dir=spec.output.path, metrics=metrics, manifest=manifest)


def _judged_rows(spec: JobSpec, source: InputSource) -> Any:
    """The judge stage's output, or the kept input columns when no scorer needs a judge."""
    import ray

    from pipeline.scoring_stage import ERROR_COLUMN, ScoringStage

    rows = ray.data.read_parquet(
        list(source.files), filesystem=source.filesystem, columns=spec.judge_columns()
    )
    judge = spec.judge
    if judge is None or not spec.judged_scorers():
        kept = spec.kept_columns()
        return rows.map_batches(
            lambda b: b.select(kept).append_column(ERROR_COLUMN, pa.nulls(b.num_rows, pa.string())),
            batch_format="pyarrow",
        )
    return rows.map_batches(
        ScoringStage,
        fn_constructor_kwargs={"spec_json": spec.model_dump_json()},
        batch_size=judge.batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=judge.concurrency),
        num_cpus=judge.num_cpus,
        num_gpus=judge.num_gpus,
        runtime_env={"env_vars": judge_env(judge)},
    )


def judge_env(judge: JudgeSpec) -> dict[str, str]:
    """Environment the judge actors need from the submitting shell: the API key, read here
    so a missing one fails before anything starts, and handed to the actors' runtime env."""
    if judge.backend != "openai" or judge.api_key_env is None:
        return {}
    value = os.environ.get(judge.api_key_env)
    if not value:
        raise ValueError(f"judge.api_key_env: environment variable {judge.api_key_env} is not set")
    return {judge.api_key_env: value}


def _ensure_ray(address: str | None) -> None:
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


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")
