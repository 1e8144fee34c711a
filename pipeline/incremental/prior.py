"""An incremental run's earlier judgments as the read step finds them: per shard of the input,
in the work folder (written by pipeline.incremental.prestage), attached to the shard's rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs

from pipeline.incremental.judgments import ID, PRIOR_COLUMN, RESULT_FIELDS, prior_by_row

SHARD_FOLDER = "__rayscore_shard={}"  # as Ray Data names a partition of the shard column


@dataclass(frozen=True)
class PriorJudgments:
    """Where the read step finds each shard's earlier judgments (folder None: there are none)."""

    folder: str | None
    filesystem: Any
    rows_matched: int = 0

    def attach(self, rows: pa.Table, shard: int, id_col: str) -> pa.Table:
        """`rows` with PRIOR_COLUMN: each row's earlier judgments (an empty list if none)."""
        if self.folder is None:
            return rows
        prior = self._read(f"{self.folder}/{SHARD_FOLDER.format(shard)}")
        prior = prior.set_column(0, ID, prior[ID].cast(rows.schema.field(id_col).type))
        return rows.append_column(PRIOR_COLUMN, prior_by_row(rows[id_col], prior))

    def _read(self, folder: str) -> pa.Table:
        columns = [ID, *(f.name for f in RESULT_FIELDS)]
        info = self.filesystem.get_file_info(folder)
        if info.type != pafs.FileType.Directory:
            schema = pa.schema([pa.field(ID, pa.string()), *RESULT_FIELDS])
            return schema.empty_table()
        dataset = pads.dataset(folder, filesystem=self.filesystem, format="parquet")
        table = dataset.to_table(columns=columns)
        # the join may hand the key on as large_binary
        return table.set_column(1, "key", table["key"].cast(RESULT_FIELDS[0].type))
