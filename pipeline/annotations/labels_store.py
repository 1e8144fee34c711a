"""Labels given in `rayscore review`, kept in RUN/annotations/ as the table that a job spec's
`annotations: {path: RUN/annotations}` reads (pipeline.annotations.labels): the run's id
column, `name` (the score name labelled), `value` ("yes"/"no"), `author`, `comment` and
`labelled_at` (UTC).

Every save is one small Parquet part under a name no other writer can pick (time and a random
suffix), written under a temporary "_" name that readers skip and then renamed into place (on
object storage, where one PUT appears whole, written in place): reviewers labelling at once
never collide, and a crash loses at most the label being saved. Nothing is rewritten; a
relabel is a new row and the latest per (author, sample, name) counts.
"""

from __future__ import annotations

import getpass
import posixpath
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.annotations.history import LABELLED_AT, latest_labels
from pipeline.storage.run_dir import ANNOTATIONS, RunDirectory

YES, NO = "yes", "no"


@dataclass(frozen=True)
class Label:
    sample_id: str
    name: str  # a score record name: "quality.item_2", or an overall verdict's
    value: bool
    comment: str | None = None


def default_author() -> str:
    return getpass.getuser()


def labels_schema(id_col: str) -> pa.Schema:
    return pa.schema(
        [
            (id_col, pa.string()),
            ("name", pa.string()),
            ("value", pa.string()),
            ("author", pa.string()),
            ("comment", pa.string()),
            (LABELLED_AT, pa.timestamp("us", tz="UTC")),
        ]
    )


class LabelsStore:
    """The labels of one run directory, appended part by part."""

    def __init__(self, run_dir: RunDirectory, id_col: str) -> None:
        self.run_dir = run_dir
        self.id_col = id_col
        self.folder = run_dir.join(ANNOTATIONS)
        # parts already read (never rewritten): each read lists the folder, reads only the new
        self._read: dict[str, pa.Table] = {}
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        """What a job spec's `annotations: {path: ...}` names to calibrate on these labels."""
        return posixpath.join(self.run_dir.uri.rstrip("/"), ANNOTATIONS)

    def append(self, labels: Sequence[Label], author: str) -> str:
        """Save `labels` as one new part; its path."""
        if not labels:
            raise ValueError("no labels to save")
        now = datetime.now(UTC)
        table = pa.table(
            {
                self.id_col: [label.sample_id for label in labels],
                "name": [label.name for label in labels],
                "value": [YES if label.value else NO for label in labels],
                "author": [author] * len(labels),
                "comment": [label.comment or None for label in labels],
                LABELLED_AT: [now] * len(labels),
            },
            schema=labels_schema(self.id_col),
        )
        fs = self.run_dir.fs
        fs.makedirs(self.folder, exist_ok=True)
        unique = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}"
        final = posixpath.join(self.folder, f"label-{unique}.parquet")
        if not self.run_dir.renames_atomically:
            pq.write_table(table, final, filesystem=self.run_dir.arrow_fs)
            return final
        tmp = posixpath.join(self.folder, f"_tmp-{unique}.parquet")
        pq.write_table(table, tmp, filesystem=self.run_dir.arrow_fs)
        fs.mv(tmp, final)
        return final

    def history(self) -> pl.DataFrame:
        """Every label ever saved, oldest first."""
        schema = labels_schema(self.id_col)
        fs = self.run_dir.fs
        if not fs.exists(self.folder):
            return pl.from_arrow(schema.empty_table())  # type: ignore[return-value]
        with self._lock:
            parts = sorted(
                p for p in fs.ls(self.folder, detail=False) if _is_part(posixpath.basename(p))
            )
            new = [p for p in parts if p not in self._read]
            for part in new:
                self._read[part] = pq.read_table(
                    part, filesystem=self.run_dir.arrow_fs, schema=schema
                )
            tables = [self._read[p] for p in parts]
        frame = pl.from_arrow(pa.concat_tables([schema.empty_table(), *tables]))
        assert isinstance(frame, pl.DataFrame)
        return frame.sort(LABELLED_AT, maintain_order=True)

    def current(self) -> pl.DataFrame:
        """The labels that count: the latest per (author, sample, name)."""
        return latest_labels(self.history(), self.id_col)


def _is_part(name: str) -> bool:
    """A saved part; not one being written ("_tmp-...") nor a hidden file."""
    return name.endswith(".parquet") and not name.startswith(("_", "."))
