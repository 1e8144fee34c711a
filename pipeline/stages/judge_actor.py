"""The judge stage of the Ray Data plan: each actor holds one engine and scores sample batches."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.incremental.reuse import JudgmentReuse
from pipeline.row_errors import RowErrors
from pipeline.warm.client import connect
from pipeline.warm.fallback import ColdFallback
from scorers.judge.build import build_judge
from scorers.judge.generation import Generated, GeneratingJudge
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, LogprobJudge
from scorers.judge.spec import JudgeSpec
from scorers.judged import JudgedScorer, PreparedBatch, prepare_batch
from scorers.usage import ERROR_COLUMN

MAX_FAILED_BATCHES = 3
# Beside a judge's node column: [engine start began, engine ready, call finished] (epoch
# seconds) of the actor that judged the row; the manifest's judge.timings_s come from it.
CLOCK_SUFFIX = "_clock"


def score_table(
    batch: pa.Table,
    scorers: Sequence[JudgedScorer],
    judge: LogprobJudge,
    keep_columns: Sequence[str],
    watch: FailureWatch | None = None,
    rows_per_call: int | None = None,
    reuse: JudgmentReuse | None = None,
) -> pa.Table:
    """Kept input columns + one struct column per scorer + `error`; same rows, same order.

    Every scorer prepares the whole batch at once and reads its answers at once (their
    Arrow work costs little per row, much per call); the judge gets the requests of
    `rows_per_call` rows at a time, every scorer's together (one call per label set), so all
    questions about a sample share the engine's pass over its prefix.

    With `reuse`, requests an earlier run's judgments of the rows answer are not asked
    (pipeline.incremental.reuse), and the batch's judgments leave in `reuse.column`.
    """
    prepared = [prepare_batch(scorer, batch, judge) for scorer in scorers]
    lookup = reuse.lookup(batch, prepared) if reuse is not None else None
    if lookup is None:
        results = judge_all(prepared, judge, rows_per_call, watch)
    else:
        results = lookup.merged(judge_all(lookup.misses, judge, rows_per_call, watch))
    out = batch.select(list(keep_columns))
    errors = RowErrors(batch)  # with an earlier stage's (another judge's, per-row scorers')
    for scorer, ready, answers in zip(scorers, prepared, results, strict=True):
        scored = scorer.finish(ready, answers)
        out = out.append_column(scorer.key, scored.scores)
        errors.add(scorer.key, scored.errors)
    out = out.append_column(ERROR_COLUMN, errors.column())
    if reuse is not None and lookup is not None:
        out = out.append_column(reuse.column, lookup.recorded(results))
    if out.num_rows != batch.num_rows:
        raise RuntimeError(f"scoring changed the row count: {batch.num_rows} -> {out.num_rows}")
    return out


def judge_all(
    prepared: Sequence[PreparedBatch],
    judge: LogprobJudge,
    rows_per_call: int | None = None,
    watch: FailureWatch | None = None,
) -> list[list[JudgeResult] | list[Generated]]:
    """Results per prepared batch, asked `rows_per_call` rows at a time when every scorer
    says which requests are each row's (else all at once)."""
    results: list[list[Any]] = [[] for _ in prepared]
    for ranges in _request_ranges(prepared, rows_per_call):
        part = [
            _requests_in(ready, start, stop)
            for ready, (start, stop) in zip(prepared, ranges, strict=True)
        ]
        answers = _judge_once(part, judge)
        if watch is not None:
            watch.saw([r for each in answers for r in each])
        for index, each in enumerate(answers):
            results[index].extend(each)
    return results


def _request_ranges(
    prepared: Sequence[PreparedBatch], rows_per_call: int | None
) -> list[list[tuple[int, int]]]:
    """Per judge call, each prepared batch's range of requests."""
    whole = [[(0, ready.requests) for ready in prepared]]
    first = prepared[0].requests_per_row if prepared else None
    if rows_per_call is None or first is None:
        return whole
    rows = len(first)
    found = [ready.request_offsets(rows) for ready in prepared]
    offsets = [o for o in found if o is not None]
    if len(offsets) != len(prepared):
        return whole  # a scorer whose counts do not add up: asked as it prepared them
    return [
        [(int(o[start]), int(o[min(start + rows_per_call, rows)])) for o in offsets]
        for start in range(0, max(rows, 1), rows_per_call)
    ]


def _requests_in(ready: PreparedBatch, start: int, stop: int) -> PreparedBatch:
    if ready.generation:
        return replace(ready, generation=ready.generation[start:stop])
    return replace(ready, prompts=ready.prompts[start:stop])


def _judge_once(
    prepared: Sequence[PreparedBatch], judge: LogprobJudge
) -> list[list[JudgeResult] | list[Generated]]:
    """One judge call per label set, one per set of answer values for all generations."""
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
                f"the judge failed every request of {self.limit} batches in a row (last: "
                f"{results[-1].error}); the written parts are kept: fix the judge and run "
                "the same command again to resume"
            )


class ScoringStage:
    """Ray Data callable class: the engine starts once per actor, in `__init__`.

    It gets only what it needs: the judge's spec and the judged scorers, built on the driver.
    With `node_column` it adds that column, holding its node's id in every row. A call may
    bring many judge batches (fewer, larger Ray Data calls): the scorers prepare and finish
    them at once, and the engine gets judge.batch_size rows' requests after another, while
    the actor's other call keeps it busy. With `node_column` it also adds the actor's clock
    (CLOCK_SUFFIX), so the run can tell its engine start from its judging. With `reuse` it
    asks the engine only what the rows' earlier judgments do not answer, and adds the
    rows' judgments (reuse.column) for the run to record.
    With `warm` (names of warm judge actors, pipeline.warm) it starts no engine: its judge
    forwards every call to them, and its clock's engine start is only that connection. If
    they are gone, before it connects or later, `cold_fallback` starts an engine of its own.
    """

    def __init__(
        self,
        judge: JudgeSpec,
        scorers: Sequence[JudgedScorer],
        keep_columns: Sequence[str],
        node_column: str | None = None,
        warm: Sequence[str] = (),
        reuse: JudgmentReuse | None = None,
        cold_fallback: ColdFallback | None = None,
    ) -> None:
        started = time.time()
        self.judge = connect(warm, cold_fallback) if warm else build_judge(judge)
        self.clock = (started, time.time())
        self.batch_size = judge.batch_size
        self.scorers = list(scorers)
        self.keep_columns = list(keep_columns)
        self.watch = FailureWatch()
        self.node_column = node_column
        self.node_id = this_node() if node_column else ""
        self.reuse = reuse

    def __call__(self, batch: pa.Table) -> pa.Table:
        out = score_table(
            batch,
            self.scorers,
            self.judge,
            self.keep_columns,
            self.watch,
            self.batch_size,
            self.reuse,
        )
        if self.node_column is None:
            return out
        # Which node judged these rows, and when: the judge stage reads it into the shard's ack.
        clock = np.tile(np.array([*self.clock, time.time()]), out.num_rows)
        return out.append_column(
            self.node_column, pa.array([self.node_id] * out.num_rows, pa.string())
        ).append_column(
            self.node_column + CLOCK_SUFFIX, pa.FixedSizeListArray.from_arrays(clock, 3)
        )


def this_node() -> str:
    """The Ray node id of the process this runs in."""
    import ray

    return str(ray.get_runtime_context().get_node_id())
