"""The post step of the score pass, on CPU tasks: each block leaving the judges (or the read
step, without one) is finished and written as its final parts, one per shard it holds:

    scores/part-...        the rows, every score checked; the part's summary in its footer
    scores_long/part-...   its score records (written first: a part exists only with them)
    judgments/part-...     its rows' judgments, for a later run to reuse (pipeline.incremental)

Without `finish` (a run whose calibration or whole-dataset scorers need every judged row
first) the rows are written as they are, for a second pass to finish. What comes back to the
driver is a one-row ack per part: rows, errors, judge usage (what of it an earlier run's
judgments answered among it: pipeline.incremental.recording.Recorded) and the nodes that judged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.incremental.judgments import PRIOR_COLUMN, recorded_table
from pipeline.incremental.recording import (
    RECORDED_FIELDS,
    Recorded,
    footer,
    reuse_counts,
    shard_judgments,
)
from pipeline.stages.cross_sample import CrossSampleResult, attach_cross_sample
from pipeline.stages.finish_rows import Checks, finish_rows
from pipeline.stages.judge_actor import CLOCK_SUFFIX
from pipeline.stages.read_shards import SHARD_COLUMN
from pipeline.storage.parts import part_name, write_atomically
from pipeline.summary import block_summary
from scorers.metrics.aggregate import BoundMetric
from scorers.usage import ERROR_COLUMN, USAGE_FIELDS, usage_totals

ACK_SCHEMA = pa.schema(
    [
        ("rows", pa.int64()),
        ("errored", pa.int64()),
        *((name, pa.int64()) for name in USAGE_FIELDS),
        *((name, pa.int64()) for name in RECORDED_FIELDS),
        ("judge_nodes", pa.string()),
        ("judge_clock", pa.string()),
    ]
)


@dataclass(frozen=True)
class Finish:
    """How a block's rows become final: cross-sample results joined on, configs checked,
    calibration applied, records and summary built."""

    cross_sample: Sequence[CrossSampleResult]  # small tables, joined on by id
    error_columns: Sequence[str]
    checks: Checks
    records: Callable[[pa.Table], pa.Table]
    records_folder: str
    metrics: Sequence[BoundMetric]
    calibrate: Callable[[pa.Table], pa.Table] | None = None


@dataclass(frozen=True)
class PartWriter:
    folder: str
    filesystem: Any
    id_col: str
    judged_keys: Sequence[str]
    node_columns: Mapping[str, str] = field(default_factory=dict)  # judge name -> column
    finish: Finish | None = None
    judgments_columns: Sequence[str] = ()  # per judge, its actors' judgments of each row
    judgments_folder: str | None = None  # where each part's judgments are written


def write_block(block: pa.Table, writer: PartWriter) -> pa.Table:
    """Ray Data adapter: the block's parts written; their acks returned."""
    if block.num_rows == 0:
        return ACK_SCHEMA.empty_table()
    nodes = _judge_nodes(block, writer.node_columns)
    clock = _judge_clock(block, writer.node_columns)
    judgments = recorded_table(block, writer.judgments_columns, writer.id_col, [SHARD_COLUMN])
    judge_columns = [c for n in writer.node_columns.values() for c in (n, n + CLOCK_SUFFIX)]
    judge_columns += [*writer.judgments_columns, PRIOR_COLUMN]
    block = block.drop_columns([c for c in judge_columns if c in block.column_names])
    if writer.finish is not None:
        block = finished(block, writer.finish, writer.id_col)
    acks = [
        {
            **_write_part(
                piece, shard, writer, nodes, shard_judgments(judgments, SHARD_COLUMN, shard)
            ),
            "judge_clock": clock,
        }
        for shard, piece in _by_shard(block)
    ]
    return pa.Table.from_pylist(acks, schema=ACK_SCHEMA)


def finished(block: pa.Table, finish: Finish, id_col: str) -> pa.Table:
    block = attach_cross_sample(block, finish.cross_sample, id_col)
    block = finish_rows(block, finish.error_columns, finish.checks)
    return finish.calibrate(block) if finish.calibrate is not None else block


def _write_part(
    piece: pa.Table, shard: int | None, writer: PartWriter, nodes: str, judgments: pa.Table
) -> dict[str, Any]:
    name = part_name(shard, piece[writer.id_col])
    reused = Recorded()
    if writer.judgments_folder is not None and writer.judgments_columns:
        reused = reuse_counts(judgments)
        folder = writer.judgments_folder
        write_atomically(judgments, folder, name, writer.filesystem, footer(reused))
    summary = None
    finish = writer.finish
    if finish is not None:
        write_atomically(finish.records(piece), finish.records_folder, name, writer.filesystem)
        summary = block_summary(piece, writer.judged_keys, finish.metrics)
    write_atomically(piece, writer.folder, name, writer.filesystem, summary)
    return {
        "rows": piece.num_rows,
        "errored": piece.num_rows - piece[ERROR_COLUMN].null_count,
        **usage_totals(piece, writer.judged_keys),
        **footer(reused),
        "judge_nodes": nodes,
    }


def _by_shard(block: pa.Table) -> list[tuple[int | None, pa.Table]]:
    """(shard index, its rows without the shard column) for each shard in the block."""
    if SHARD_COLUMN not in block.column_names:
        return [(None, block)]
    shards = block[SHARD_COLUMN]
    rest = block.drop_columns([SHARD_COLUMN])
    values = pc.unique(shards).to_pylist()
    if len(values) == 1:
        return [(values[0], rest)]
    return [(v, rest.filter(pc.equal(shards, v))) for v in values]


def _judge_nodes(block: pa.Table, node_columns: Mapping[str, str]) -> str:
    """JSON: judge name -> the node ids that judged the block's rows."""
    nodes = {
        name: sorted(v for v in pc.unique(block[column]).to_pylist() if v)
        for name, column in node_columns.items()
        if column in block.column_names
    }
    return json.dumps(nodes)


def _judge_clock(block: pa.Table, node_columns: Mapping[str, str]) -> str:
    """JSON: judge name -> [first engine start, first engine ready, last call finished] over
    the actors that judged the block's rows (judge_actor.CLOCK_SUFFIX)."""
    clocks = {}
    for name, column in node_columns.items():
        if column + CLOCK_SUFFIX not in block.column_names:
            continue
        times = block[column + CLOCK_SUFFIX].combine_chunks().flatten().to_numpy()
        per_row = times.reshape(-1, 3)
        clocks[name] = [per_row[:, 0].min(), per_row[:, 1].min(), per_row[:, 2].max()]
    return json.dumps({name: [float(t) for t in clock] for name, clock in clocks.items()})
