"""Where and how the score pass writes: final parts (one pass), or the judged rows a second
pass finishes (pipeline.stages.pass_layout)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from pipeline.attempt import Run
from pipeline.score_records import score_records
from pipeline.stages.cross_sample import ERROR_PREFIX, CrossSampleResult
from pipeline.stages.finish_rows import Checks
from pipeline.stages.score_configs import Configs
from pipeline.stages.write_parts import Finish, PartWriter
from pipeline.storage.run_dir import JUDGED, SCORED, SCORES, SCORES_LONG


def final_writer(
    run: Run,
    folder: str,
    cross: Sequence[CrossSampleResult],
    configs: Configs,
    checks: Checks,
    calibrate: Any = None,
) -> PartWriter:
    """Parts under folder/scores and folder/scores_long, every row finished."""
    spec, plan = run.spec, run.plan
    records = functools.partial(
        score_records,
        id_col=spec.input.id_column,
        scorers=spec.definition.scorers,
        configs=configs,
        trace_columns=spec.input.trace.mapping(),
        run_id=run.run_id,
        created_at=run.started_at,
    )
    finish = Finish(
        cross_sample=tuple(cross),
        error_columns=[ERROR_PREFIX + c.key for c in cross],
        checks=checks,
        records=records,
        records_folder=f"{folder}/{SCORES_LONG}",
        metrics=plan.bound_metrics,
        calibrate=calibrate,
    )
    return PartWriter(
        folder=f"{folder}/{SCORES}",
        filesystem=run.run_dir.arrow_fs,
        id_col=spec.input.id_column,
        judged_keys=[s.key for s in plan.judged],
        finish=finish,
    )


def one_pass_folder(run: Run) -> str:
    """Where a one-pass run's parts are written; the output folders an interrupted commit
    had already moved into place come back here first, so they are resumed, not redone."""
    folder = run.run_dir.join(SCORED)
    for name in (SCORES, SCORES_LONG):
        committed, parts = run.run_dir.join(name), f"{folder}/{name}"
        if run.run_dir.fs.exists(committed) and not run.run_dir.fs.exists(parts):
            run.run_dir.fs.makedirs(folder, exist_ok=True)
            run.run_dir.commit_back(committed, parts)
    return folder


def judged_writer(run: Run) -> PartWriter:
    """The judged rows as they leave the judges, for a second pass to finish."""
    return PartWriter(
        folder=run.run_dir.join(JUDGED),
        filesystem=run.run_dir.arrow_fs,
        id_col=run.spec.input.id_column,
        judged_keys=[s.key for s in run.plan.judged],
    )
