"""The run's summary, merged from its parts' footers (no row is read); the row count is
checked here, so a run that lost or repeated rows commits nothing."""

from __future__ import annotations

from typing import Any

from pipeline.attempt import Run
from pipeline.stages.scored_folders import ScoredFolders
from pipeline.storage.parts import list_parts, read_summaries
from pipeline.summary import merge_summaries


class RowCountMismatch(RuntimeError):
    pass


def summary_stage(run: Run, scored: ScoredFolders) -> dict[str, Any]:
    metrics = run.plan.bound_metrics
    parts = list_parts(scored.scores, run.run_dir.arrow_fs)
    summary = merge_summaries(read_summaries(parts, run.run_dir.arrow_fs), metrics)
    if summary["rows"] != run.source.num_rows:
        raise RowCountMismatch(
            f"{run.source.num_rows} input rows but {summary['rows']} scored rows in "
            f"{scored.scores}; nothing was committed (start it over with --restart)"
        )
    return summary
