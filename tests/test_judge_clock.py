"""The judge actors' clock, without Ray: the write step folds each block's clock column into
its ack (earliest engine start and ready, latest finished call) and drops it from the parts;
the manifest turns it into each judge's engine start and judging seconds."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.manifest import judge_timings
from pipeline.stages.judge_actor import CLOCK_SUFFIX
from pipeline.stages.write_parts import PartWriter, write_block
from pipeline.storage.parts import list_parts

FS = pafs.LocalFileSystem()


def test_the_ack_carries_the_judges_clock_and_the_part_does_not(tmp_path):
    folder = str(tmp_path / "parts")
    FS.create_dir(folder)
    node = "__node_0"
    clocks = [[100.0, 110.0, 130.0], [101.0, 112.0, 125.0]]  # two actors' rows
    block = pa.table(
        {
            "id": ["a", "b"],
            "error": pa.nulls(2, pa.string()),
            node: ["n1", "n2"],
            node + CLOCK_SUFFIX: pa.array(clocks, pa.list_(pa.float64(), 3)),
        }
    )
    writer = PartWriter(
        folder=folder, filesystem=FS, id_col="id", judged_keys=[], node_columns={"judge": node}
    )
    acks = write_block(block, writer)

    clock = json.loads(acks["judge_clock"][0].as_py())
    assert clock == {"judge": [100.0, 110.0, 130.0]}
    assert judge_timings(clock) == {"judge": {"engine_start_s": 10.0, "judging_s": 20.0}}
    (part,) = list_parts(folder, FS)
    assert pq.read_schema(part.path).names == ["id", "error"]
