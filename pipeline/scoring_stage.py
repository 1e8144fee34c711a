"""The judge stage of the Ray Data plan: each actor holds one engine and scores sample batches."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from pipeline.spec import JobSpec, JudgeSpec
from scorers.checklist.scorer import ChecklistScorer
from scorers.judge.result import LogprobJudge

ERROR_COLUMN = "error"


def score_table(
    batch: pa.Table,
    scorers: Sequence[ChecklistScorer],
    judge: LogprobJudge,
    keep_columns: Sequence[str],
) -> pa.Table:
    """Kept input columns + one struct column per scorer + `error`; same rows, same order."""
    out = batch.select(list(keep_columns))
    errors: list[list[str]] = [[] for _ in range(batch.num_rows)]
    for scorer in scorers:
        scored = scorer.score(batch, judge)
        out = out.append_column(scorer.spec.key, scored.scores)
        for row_errors, error in zip(errors, scored.errors, strict=True):
            if error is not None:
                row_errors.append(f"{scorer.spec.key}: {error}")
    out = out.append_column(
        ERROR_COLUMN, pa.array(["; ".join(e) if e else None for e in errors], pa.string())
    )
    if out.num_rows != batch.num_rows:
        raise RuntimeError(f"scoring changed the row count: {batch.num_rows} -> {out.num_rows}")
    return out


def build_judge(spec: JudgeSpec) -> LogprobJudge:
    from scorers.judge.vllm_judge import VllmJudge

    return VllmJudge(spec.model, spec.engine_kwargs, chat_template=spec.chat_template)


class ScoringStage:
    """Ray Data callable class: the engine starts once per actor, in `__init__`."""

    def __init__(self, spec_json: str) -> None:
        spec = JobSpec.model_validate_json(spec_json)
        assert spec.judge is not None
        self.judge = build_judge(spec.judge)
        self.scorers = [ChecklistScorer(s) for s in spec.definition.scorers]
        self.keep_columns = [spec.input.id_column, *spec.input.passthrough_columns]

    def __call__(self, batch: pa.Table) -> pa.Table:
        return score_table(batch, self.scorers, self.judge, self.keep_columns)
