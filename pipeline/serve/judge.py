"""One judge's replica of the online scorer: it holds one engine and scores merged requests.

Concurrent requests are merged by Serve's request batching (up to `max_batch_rows` rows) into
one `score_table` call, the batch job's own: every scorer's prompts for the merged rows go to
the engine together, and a sample's questions share its prefix. As many batches are in flight
as in the batch job's actors (pipeline.stages.score_pass.BATCHES_IN_FLIGHT): with vllm, one batch's
Python runs while the engine works on the other.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from ray import serve

from pipeline.stages.finish_rows import config_checks, finish_rows
from pipeline.stages.judge_actor import score_table
from pipeline.stages.score_pass import BATCHES_IN_FLIGHT
from scorers.judge.build import build_judge
from scorers.judge.result import LogprobJudge
from scorers.judge.spec import JudgeSpec
from scorers.registry import judged_scorer
from scorers.scorer_spec import ScorerSpec


@dataclass(frozen=True)
class JudgeGroup:
    """A judge and the scorers that ask it, with a stored calibration for those of them whose
    kind offers a calibration hook (`calibrated`: scorer key -> scorer name)."""

    name: str
    judge: JudgeSpec
    scorers: Sequence[ScorerSpec]
    calibration: Mapping[str, Any] | None = None
    calibrated: Mapping[str, str] = field(default_factory=dict)


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
        self._counting = threading.Lock()  # two batches score at once

    def score_each(self, tables: Sequence[pa.Table]) -> list[pa.Table]:
        """Each table's rows scored: tables of the same schema in one batch. Tables are never
        promoted to a common schema, so a row reads the same values whatever it is merged
        with."""
        by_schema: dict[pa.Schema, list[int]] = {}
        for index, table in enumerate(tables):
            by_schema.setdefault(table.schema, []).append(index)
        out: list[pa.Table] = [pa.table({})] * len(tables)
        for indices in by_schema.values():
            scored = self.score(pa.concat_tables([tables[i] for i in indices]))
            offset = 0
            for i in indices:
                out[i] = scored.slice(offset, tables[i].num_rows)
                offset += tables[i].num_rows
        return out

    def score(self, table: pa.Table) -> pa.Table:
        """Its scorers' columns and `error`: same rows, same order."""
        with self._counting:
            self.batches += 1
        group = self.group
        out = score_table(table, self.scorers, self.judge, keep_columns=[])
        struct_types = {s.key: out.schema.field(s.key).type for s in group.scorers}
        _, checks = config_checks(group.scorers, struct_types)
        out = finish_rows(out, error_columns=[], checks=checks)
        if group.calibration is not None:
            from pipeline.calibration import calibrate_batch

            out = calibrate_batch(out, dict(group.calibration), dict(group.calibrated))
        return out


class JudgeReplica:
    """A Serve replica: one engine, and Serve's request batching in front of it (`score`)."""

    def __init__(self, group: JudgeGroup, max_batch_rows: int, batch_wait_s: float) -> None:
        self.scorer = GroupScorer(group, build_judge(group.judge))
        self.counts = {"requests": 0, "rows": 0}
        self.score = serve.batch(
            max_batch_size=max_batch_rows,
            batch_wait_timeout_s=batch_wait_s,
            max_concurrent_batches=BATCHES_IN_FLIGHT[group.judge.backend],
            batch_size_fn=_rows,
        )(self._score_batch)

    async def _score_batch(self, tables: list[pa.Table]) -> list[pa.Table]:
        """Each request's rows scored: its scorers' columns and `error`, same rows, same order."""
        self.counts["requests"] += len(tables)
        self.counts["rows"] += _rows(tables)
        return await asyncio.to_thread(self.scorer.score_each, tables)

    def stats(self) -> dict[str, int]:
        """Requests and rows this replica scored, and in how many batches (each batch is one
        engine call per label set)."""
        return {**self.counts, "batches": self.scorer.batches}
