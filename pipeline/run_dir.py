"""A job's run directory: refuses to overwrite a run unless asked; files appear atomically."""

from __future__ import annotations

import json
import posixpath
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.filesystems import arrow_filesystem

SCORES = "scores"
SCORES_LONG = "scores_long"
METRICS = "metrics.json"
METRICS_TABLE = "metrics.parquet"
MANIFEST = "manifest.json"
SCORE_CONFIGS = "score_configs.json"


class RunDirectoryExists(FileExistsError):
    pass


class RunDirectory:
    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.fs, self.path = fsspec.core.url_to_fs(uri)
        self.arrow_fs: pafs.FileSystem = arrow_filesystem(self.fs)

    def join(self, *parts: str) -> str:
        return posixpath.join(self.path, *parts)

    @property
    def scores_path(self) -> str:
        return self.join(SCORES)

    def staging_path(self, run_id: str) -> str:
        return self.join(f".{SCORES}-{run_id}.staging")

    def prepare(self, overwrite: bool) -> None:
        """Create the directory; an existing non-empty one needs `overwrite`."""
        if self.fs.exists(self.path) and self.fs.ls(self.path):
            if not overwrite:
                raise RunDirectoryExists(
                    f"output.path {self.uri!r} already holds files; choose another path or "
                    "pass --overwrite to replace that run"
                )
            self.fs.rm(self.path, recursive=True)
        self.fs.makedirs(self.path, exist_ok=True)

    def commit(self, staged: str, name: str) -> None:
        """Move a finished output into place: it exists only once it is complete."""
        self.fs.mv(staged, self.join(name), recursive=True)

    def remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def write_table(self, name: str, table: pa.Table) -> str:
        final = self.join(name)
        tmp = final + ".tmp"
        pq.write_table(table, tmp, filesystem=self.arrow_fs)
        self.fs.mv(tmp, final)
        return final

    def ensure_table(self, folder: str, schema: pa.Schema) -> None:
        """Ray writes no file for an empty dataset; leave one empty file so readers see 0 rows."""
        if not self.fs.exists(folder) or not self.fs.ls(folder):
            self.fs.makedirs(folder, exist_ok=True)
            pq.write_table(
                schema.empty_table(), f"{folder}/empty.parquet", filesystem=self.arrow_fs
            )

    def write_json(self, name: str, payload: Any) -> str:
        final = self.join(name)
        tmp = final + ".tmp"
        with self.fs.open(tmp, "w") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False, default=str)
            handle.write("\n")
        self.fs.mv(tmp, final)
        return final
