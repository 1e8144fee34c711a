"""The commit: scores/ and scores_long/ moved into place (a rename on a local disk), then the
score configs and metrics written."""

from __future__ import annotations

import posixpath
from typing import Any

import pyarrow.fs as pafs

from pipeline.annotations.names import declared_labels
from pipeline.attempt import Run
from pipeline.score_records import RECORD_SCHEMA, score_configs_json
from pipeline.stages.scored_folders import ScoredFolders
from pipeline.storage.parts import list_parts
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
from scorers.metrics.aggregate import finalize
from scorers.metrics.metrics_table import metrics_rows


def commit_stage(
    run: Run,
    scored: ScoredFolders,
    summary: dict[str, Any],
    agreement: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Returns the metrics."""
    drop_leftovers(run, scored)
    run.run_dir.ensure_table(scored.records, RECORD_SCHEMA)
    for staged, name in ((scored.scores, SCORES), (scored.records, SCORES_LONG)):
        run.run_dir.remove(run.run_dir.join(name))  # an earlier attempt's, cut off mid-commit
        run.run_dir.commit(staged, name)
    labels = declared_labels(run.spec.calibration)
    run.run_dir.write_json(
        SCORE_CONFIGS, score_configs_json(run.spec.definition.scorers, scored.configs, labels)
    )
    if calibration is not None:
        run.run_dir.write_json(CALIBRATION, calibration)
    if agreement is not None:
        from pipeline.annotations.labels import agreement_rows

        run.run_dir.write_json(AGREEMENT, agreement)
        run.run_dir.write_table(AGREEMENT_TABLE, agreement_rows(agreement))
    metrics = finalize(summary["metrics"], run.plan.bound_metrics)
    run.run_dir.write_json(METRICS, metrics)
    run.run_dir.write_table(METRICS_TABLE, metrics_rows(metrics))
    return metrics


def drop_leftovers(run: Run, scored: ScoredFolders) -> None:
    """What a killed writer left: temporary files, and records whose part never followed
    (a part's records are written first; its rows come again in the next attempt)."""
    fs = run.run_dir.arrow_fs
    kept = {posixpath.basename(p.path) for p in list_parts(scored.scores, fs)}
    for folder in (scored.scores, scored.records):
        selector = pafs.FileSelector(folder, allow_not_found=True)
        for info in fs.get_file_info(selector):
            name = posixpath.basename(info.path)
            orphan = folder == scored.records and name.startswith("part-") and name not in kept
            if info.type == pafs.FileType.File and (name.startswith("_tmp-") or orphan):
                fs.delete_file(info.path)
