"""The commit: scores/ and scores_long/ moved into place (a rename on a local disk), then the
score configs and metrics written."""

from __future__ import annotations

from typing import Any

from pipeline.annotation_names import declared_labels
from pipeline.attempt import Run
from pipeline.score_records import RECORD_SCHEMA, score_configs_json
from pipeline.stages.scored_folders import ScoredFolders
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
        from pipeline.annotations import agreement_rows

        run.run_dir.write_json(AGREEMENT, agreement)
        run.run_dir.write_table(AGREEMENT_TABLE, agreement_rows(agreement))
    metrics = finalize(summary["metrics"], run.spec.bound_metrics())
    run.run_dir.write_json(METRICS, metrics)
    run.run_dir.write_table(METRICS_TABLE, metrics_rows(metrics))
    return metrics
