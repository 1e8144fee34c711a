"""The judge stage of the Ray Data plan: each actor holds one engine and scores sample batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from pipeline.row_errors import RowErrors
from scorers.judge.build import build_judge
from scorers.judge.generation import Generated, GeneratingJudge
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, LogprobJudge
from scorers.judge.spec import JudgeSpec
from scorers.judged import JudgedScorer, PreparedBatch
from scorers.usage import ERROR_COLUMN

MAX_FAILED_BATCHES = 3


def score_table(
    batch: pa.Table,
    scorers: Sequence[JudgedScorer],
    judge: LogprobJudge,
    keep_columns: Sequence[str],
    watch: FailureWatch | None = None,
) -> pa.Table:
    """Kept input columns + one struct column per scorer + `error`; same rows, same order.

    Every scorer's prompts for the batch go to the judge together (one call per label set),
    so all questions about a sample share the engine's pass over its prefix.
    """
    prepared = [scorer.prepare(batch) for scorer in scorers]
    results = judge_all(prepared, judge)
    if watch is not None:
        watch.saw([r for answers in results for r in answers])
    out = batch.select(list(keep_columns))
    errors = RowErrors(batch)  # with an earlier stage's (another judge's, per-row scorers')
    for scorer, ready, answers in zip(scorers, prepared, results, strict=True):
        scored = scorer.finish(ready, answers)
        out = out.append_column(scorer.key, scored.scores)
        errors.add(scorer.key, scored.errors)
    out = out.append_column(ERROR_COLUMN, errors.column())
    if out.num_rows != batch.num_rows:
        raise RuntimeError(f"scoring changed the row count: {batch.num_rows} -> {out.num_rows}")
    return out


def judge_all(
    prepared: Sequence[PreparedBatch], judge: LogprobJudge
) -> list[list[JudgeResult] | list[Generated]]:
    """Results per prepared batch: one judge call per label set, one per set of answer values
    for all generations."""
    results: list[list[JudgeResult] | list[Generated]] = [[] for _ in prepared]
    by_labels: dict[LabelSet, list[int]] = {}
    for index, ready in enumerate(prepared):
        if not ready.generation:
            by_labels.setdefault(ready.label_set, []).append(index)
    for label_set, indices in by_labels.items():
        prompts = [p for i in indices for p in prepared[i].prompts]
        answers = judge.judge(prompts, label_set) if prompts else []
        _deal(results, indices, [len(prepared[i].prompts) for i in indices], answers)
    by_values: dict[tuple[str, ...], list[int]] = {}
    for index, ready in enumerate(prepared):
        if ready.generation:
            by_values.setdefault(ready.answer_values, []).append(index)
    if by_values and not isinstance(judge, GeneratingJudge):
        raise TypeError(
            f"{type(judge).__name__} cannot generate constrained answers; they need the "
            "vllm backend"
        )
    for values, indices in by_values.items():
        assert isinstance(judge, GeneratingJudge)
        requests = [r for i in indices for r in prepared[i].generation]
        generated = judge.generate(requests, values)
        _deal(results, indices, [len(prepared[i].generation) for i in indices], generated)
    return results


def _deal(results: list[Any], indices: list[int], sizes: list[int], answers: Sequence[Any]) -> None:
    if len(answers) != sum(sizes):
        raise RuntimeError(f"judge returned {len(answers)} results for {sum(sizes)} requests")
    offset = 0
    for i, n in zip(indices, sizes, strict=True):
        results[i] = list(answers[offset : offset + n])
        offset += n


class JudgeKeepsFailing(RuntimeError):
    """The judge failed every request of several batches in a row: stop, keep what is done."""


@dataclass
class FailureWatch:
    """Counts batches in a row whose every judge request failed; a judge that fails some
    requests is working (those are errors in their rows), one that fails all is not."""

    limit: int = MAX_FAILED_BATCHES
    in_a_row: int = 0

    def saw(self, results: Sequence[JudgeResult | Generated]) -> None:
        if not results or any(r.error is None for r in results):
            self.in_a_row = 0
            return
        self.in_a_row += 1
        if self.in_a_row >= self.limit:
            raise JudgeKeepsFailing(
                f"the judge failed every request of {self.in_a_row} batches in a row (last: "
                f"{results[-1].error}); the committed shards are kept: fix the judge and run "
                "the same command again to resume"
            )


class ScoringStage:
    """Ray Data callable class: the engine starts once per actor, in `__init__`.

    It gets only what it needs: the judge's spec and the judged scorers, built on the driver.
    With `node_column` it adds that column, holding its node's id in every row.
    """

    def __init__(
        self,
        judge: JudgeSpec,
        scorers: Sequence[JudgedScorer],
        keep_columns: Sequence[str],
        node_column: str | None = None,
    ) -> None:
        self.judge = build_judge(judge)
        self.scorers = list(scorers)
        self.keep_columns = list(keep_columns)
        self.watch = FailureWatch()
        self.node_column = node_column
        self.node_id = this_node() if node_column else ""

    def __call__(self, batch: pa.Table) -> pa.Table:
        out = score_table(batch, self.scorers, self.judge, self.keep_columns, self.watch)
        if self.node_column is None:
            return out
        # Which node judged these rows: the judge stage reads it into the shard's ack.
        return out.append_column(
            self.node_column, pa.array([self.node_id] * out.num_rows, pa.string())
        )


def this_node() -> str:
    """The Ray node id of the process this runs in."""
    import ray

    return str(ray.get_runtime_context().get_node_id())
