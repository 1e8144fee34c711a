"""Labels given in `rayscore review`, kept in RUN/annotations/ as ANNOTATION score records
(pipeline.score_records.RECORD_SCHEMA, built as a run builds the records of the labels it
reads: pipeline.annotations.labelled_run): `name` (the score labelled), `value` 1.0/0.0 and
`string_value` "true"/"false", `author`, `comment`, `created_at` (UTC, to the microsecond) and
the sample's trace fields. It is the table a job spec's `annotations: {path: RUN/annotations}`
reads (pipeline.annotations.labels) and that the run's own scores_long shows beside its
records (pipeline.results.open_run).

Every save is one small Parquet part under a name no other writer can pick (time and a random
suffix), written under a temporary "_" name that readers skip and then renamed into place (on
object storage, where one PUT appears whole, written in place): reviewers labelling at once
never collide, and a crash loses at most the label being saved. Nothing is rewritten; a
relabel is a new record and the latest per (author, sample, name) counts.
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

from pipeline.annotations.history import CREATED_AT, latest_labels
from pipeline.annotations.label_parts import label_parts, read_label_part
from pipeline.annotations.labelled_run import LabelledRun
from pipeline.score_records import RECORD_SCHEMA
from pipeline.storage.run_dir import ANNOTATIONS, LABEL_PARTS, RunDirectory

YES, NO = "yes", "no"


@dataclass(frozen=True)
class Label:
    sample_id: str
    name: str  # a score record name: "quality.item_2", or an overall verdict's
    value: bool
    comment: str | None = None


def default_author() -> str:
    return getpass.getuser()


class LabelsStore:
    """The labels of one run directory, appended part by part."""

    def __init__(self, run_dir: RunDirectory, labelled: LabelledRun) -> None:
        self.run_dir = run_dir
        self.labelled = labelled
        self.folder = run_dir.join(ANNOTATIONS)
        # parts already read (never rewritten): each read lists the folder, reads only the new
        self._read: dict[str, pa.Table] = {}
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        """What a job spec's `annotations: {path: ...}` names to calibrate on these labels."""
        return posixpath.join(self.run_dir.uri.rstrip("/"), ANNOTATIONS)

    def append(self, labels: Sequence[Label], author: str) -> str:
        """Save `labels` as one new part of ANNOTATION records; its path. A name that labels
        no score of the run is refused (UnknownAnnotationName) and nothing is written."""
        if not labels:
            raise ValueError("no labels to save")
        now = datetime.now(UTC)
        given = pl.DataFrame(
            {
                "sample_id": [label.sample_id for label in labels],
                "name": [label.name for label in labels],
                "human": ["true" if label.value else "false" for label in labels],
                "author": [author] * len(labels),
                "comment": [label.comment or None for label in labels],
            },
            schema={c: pl.String for c in ("sample_id", "name", "human", "author", "comment")},
        )
        table = self.labelled.records(given, now.isoformat(timespec="microseconds"))
        fs = self.run_dir.fs
        fs.makedirs(self.folder, exist_ok=True)
        unique = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}"
        final = posixpath.join(self.folder, LABEL_PARTS.replace("*", unique))
        if not self.run_dir.renames_atomically:
            pq.write_table(table, final, filesystem=self.run_dir.arrow_fs)
            return final
        tmp = posixpath.join(self.folder, f"_tmp-{unique}.parquet")
        pq.write_table(table, tmp, filesystem=self.run_dir.arrow_fs)
        fs.mv(tmp, final)
        return final

    def history(self) -> pl.DataFrame:
        """Every label ever saved, as records, oldest first."""
        with self._lock:
            parts = label_parts(self.run_dir.fs, self.folder)
            for part in parts:
                if part not in self._read:
                    self._read[part] = read_label_part(part, self.run_dir.arrow_fs)
            tables = [self._read[p] for p in parts]
        frame = _frame(pa.concat_tables([RECORD_SCHEMA.empty_table(), *tables]))
        return frame.sort(CREATED_AT, maintain_order=True)

    def current(self) -> pl.DataFrame:
        """The labels that count, as records: the latest per (author, sample, name)."""
        return latest_labels(self.history(), "sample_id")

    def answers(self, author: str | None = None) -> pl.DataFrame:
        """The labels that count (of `author` alone when given) as sample_id, name, answer
        ("yes"/"no"), author, comment."""
        current = self.current()
        if author is not None:
            current = current.filter(pl.col("author") == author)
        answer = pl.when(pl.col("value") == 1.0).then(pl.lit(YES)).otherwise(pl.lit(NO))
        return current.select("sample_id", "name", answer.alias("answer"), "author", "comment")


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
