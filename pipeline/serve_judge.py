"""One judge's replica of the online scorer: it holds one engine and scores merged requests.

Concurrent requests are merged by Serve's request batching (up to a job batch of rows) into
one `score_table` call, the batch job's own: every scorer's prompts for the merged rows go to
the engine together, and a sample's questions share its prefix. Two batches are in flight so
one's Python runs while the engine works on the other, as in the batch job's actors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from ray import serve

from pipeline.assemble import config_checks, finish_rows
from pipeline.scoring_stage import score_table
from scorers.judge.build import build_judge
from scorers.judge.result import LogprobJudge
from scorers.judge.spec import JudgeSpec
from scorers.registry import judged_scorer
from scorers.scorer_spec import ScorerSpec

BATCHES_IN_FLIGHT = 2


@dataclass(frozen=True)
class JudgeGroup:
    """A judge and the scorers that ask it, with a stored calibration for its checklists
    (checklist key -> scorer name)."""

    name: str
    judge: JudgeSpec
    scorers: Sequence[ScorerSpec]
    calibration: Mapping[str, Any] | None = None
    checklists: Mapping[str, str] = field(default_factory=dict)


def _rows(tables: Sequence[pa.Table]) -> int:
    return sum(t.num_rows for t in tables)


class GroupScorer:
    """The batch job's judge stage for one judge's scorers, then its config checks and the
    stored calibration: what the replica runs on each merged batch."""

    def __init__(self, group: JudgeGroup, judge: LogprobJudge) -> None:
        self.group = group
        self.judge = judge
        self.scorers = [judged_scorer(s) for s in group.scorers]
        self.batches = 0

    def score_each(self, tables: Sequence[pa.Table]) -> list[pa.Table]:
        """Each table's rows scored, all of them in one batch when their columns join."""
        try:
            merged = pa.concat_tables(tables, promote_options="permissive")
        except pa.ArrowException:  # one request's column types do not join the others'
            return [self.score(table) for table in tables]
        scored = self.score(merged)
        out, offset = [], 0
        for table in tables:
            out.append(scored.slice(offset, table.num_rows))
            offset += table.num_rows
        return out

    def score(self, table: pa.Table) -> pa.Table:
        """Its scorers' columns and `error`: same rows, same order."""
        self.batches += 1
        group = self.group
        out = score_table(table, self.scorers, self.judge, keep_columns=[])
        struct_types = {s.key: out.schema.field(s.key).type for s in group.scorers}
        _, checks = config_checks(group.scorers, struct_types)
        out = finish_rows(out, keys=[], defaults={}, checks=checks)
        if group.calibration is not None:
            from pipeline.calibration import calibrate_batch

            out = calibrate_batch(out, dict(group.calibration), dict(group.checklists))
        return out


class JudgeReplica:
    """A Serve replica: one engine, and Serve's request batching in front of it."""

    def __init__(self, group: JudgeGroup, max_batch_rows: int, batch_wait_s: float) -> None:
        self.scorer = GroupScorer(group, build_judge(group.judge))
        self.score.set_max_batch_size(max_batch_rows)
        self.score.set_batch_wait_timeout_s(batch_wait_s)
        self.counts = {"requests": 0, "rows": 0}

    @serve.batch(  # type: ignore[untyped-decorator]  # Ray types the keyword form loosely
        max_concurrent_batches=BATCHES_IN_FLIGHT, batch_size_fn=_rows
    )
    async def score(self, tables: list[pa.Table]) -> list[pa.Table]:
        """Each request's rows scored: its scorers' columns and `error`, same rows, same order."""
        self.counts["requests"] += len(tables)
        self.counts["rows"] += _rows(tables)
        return await asyncio.to_thread(self.scorer.score_each, tables)

    def stats(self) -> dict[str, int]:
        """Requests and rows this replica scored, and in how many batches (each batch is one
        engine call per label set)."""
        return {**self.counts, "batches": self.scorer.batches}
