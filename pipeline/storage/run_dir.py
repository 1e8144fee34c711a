"""A job's run directory: what state it is in, files that appear atomically, and the
in-progress area (.rayscore/) that lets an interrupted run resume.

    runs/demo/
      .rayscore/fingerprint.json   what the run is: resuming with a different one is refused
      .rayscore/run.json           the run's id and start, kept by the attempts that resume it
      .rayscore/scored/{scores,scores_long}/part-*.parquet   the score pass's final parts
      .rayscore/judged/part-*.parquet   or, when a second pass finishes the rows, its input
      .rayscore/staging-<attempt>/  the second pass's parts until they are committed
      scores/ scores_long/ metrics.json ... manifest.json   the finished run
"""

from __future__ import annotations

import json
import posixpath
from enum import Enum
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from pipeline.storage.filesystems import arrow_filesystem, is_remote

SCORES = "scores"
SCORES_LONG = "scores_long"
METRICS = "metrics.json"
METRICS_TABLE = "metrics.parquet"
MANIFEST = "manifest.json"
SCORE_CONFIGS = "score_configs.json"
AGREEMENT = "agreement.json"
AGREEMENT_TABLE = "agreement.parquet"
CALIBRATION = "calibration.json"
# Reviewers' labels (rayscore review): added to a finished run, never made by one, so a run
# that replaces it (--overwrite) takes them over.
ANNOTATIONS = "annotations"
LABEL_PARTS = "label-*.parquet"  # in ANNOTATIONS: one per save
RUN_ANNOTATIONS = "annotations.parquet"  # in SCORES_LONG: the labels the run read, as records
WORK = ".rayscore"
NEW_SUFFIX = ".new"  # where --overwrite builds the run that replaces a finished one
OLD_SUFFIX = ".replaced"  # where the replaced run waits while the new one moves in
FINGERPRINT = f"{WORK}/fingerprint.json"
IDENTITY = f"{WORK}/run.json"  # the run's id and start, kept by the attempts that resume it
LEASE = f"{WORK}/lease.json"  # who writes here now (pipeline.storage.run_lease)
JUDGED = f"{WORK}/judged"  # a two-pass run's first pass: judged rows, finished later
SCORED = f"{WORK}/scored"  # a one-pass run's final parts: scores/ and scores_long/


class RunDirectoryExists(FileExistsError):
    pass


class RunState(Enum):
    EMPTY = "empty"  # nothing there yet
    UNFINISHED = "unfinished"  # a run started here and has not finished: resumable
    FINISHED = "finished"  # a complete run (manifest.json)
    FOREIGN = "foreign"  # files rayscore did not write


class RunDirectory:
    def __init__(self, uri: str, storage_options: dict[str, Any] | None = None) -> None:
        self.uri = uri
        self.storage_options = dict(storage_options or {})
        options = dict(self.storage_options)
        if is_remote(uri):  # Ray workers write here too: a cached listing would miss their files
            options["use_listings_cache"] = False
        self.fs, self.path = fsspec.core.url_to_fs(uri, **options)
        self.arrow_fs: pafs.FileSystem = arrow_filesystem(self.fs)
        # A local folder moves in one rename; an object store copies and deletes object by
        # object, so a run there is moved manifest last in, manifest first out (_move).
        self.renames_atomically = isinstance(self.fs, LocalFileSystem)

    def join(self, *parts: str) -> str:
        return posixpath.join(self.path, *parts)

    @property
    def scores_path(self) -> str:
        return self.join(SCORES)

    def staging_path(self, run_id: str) -> str:
        return self.join(WORK, f"staging-{run_id}")

    def state(self) -> RunState:
        if not self.fs.exists(self.path) or not self.fs.ls(self.path):
            return RunState.EMPTY
        if self.fs.exists(self.join(MANIFEST)):
            return RunState.FINISHED
        if self.fs.exists(self.join(FINGERPRINT)):
            return RunState.UNFINISHED
        if self.fs.find(self.path) in ([], [self.join(LEASE)]):
            return RunState.EMPTY  # folders only, or a run that stopped before it wrote
        return RunState.FOREIGN

    def clear(self, under: str = "") -> None:
        """Remove everything here (or under the folder `under`) but the lease: what an
        earlier attempt left."""
        lease = self.join(LEASE)
        folder = self.join(under) if under else self.path
        if not self.fs.exists(folder):
            return
        for child in self.fs.ls(folder, detail=False):
            child = child.rstrip("/")
            if child == lease:
                continue
            if lease.startswith(child + "/"):
                self.clear(child[len(self.path) :].lstrip("/"))
            else:
                self.fs.rm(child, recursive=True)

    def read_json(self, name: str) -> Any:
        with self.fs.open(self.join(name), "r") as handle:
            return json.load(handle)

    def commit(self, staged: str, name: str) -> None:
        """Move a finished output into place: it exists only once it is complete."""
        self._move(staged, self.join(name))

    def commit_back(self, committed: str, staged: str) -> None:
        """Undo a commit that was cut off: the folder goes back where it was staged."""
        self._move(committed, staged)

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
        self.fs.makedirs(posixpath.dirname(final), exist_ok=True)
        tmp = final + ".tmp"
        with self.fs.open(tmp, "w") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False, default=str)
            handle.write("\n")
        self.fs.mv(tmp, final)
        return final

    def replace(self, target: RunDirectory) -> None:
        """Put this (finished) run where `target` is: the old run is moved aside first and
        removed only once this one is in place."""
        aside = f"{target.path}{OLD_SUFFIX}"
        self.remove(aside)  # left by a swap that was cut off after its first move
        self._move(target.path, aside)
        self._take_over_annotations(aside)
        self._move(self.path, target.path)
        self.fs.rm(aside, recursive=True)

    def _take_over_annotations(self, old_run: str) -> None:
        """Copy the label parts of `old_run` this run lacks (parts are never rewritten, so a
        name in both holds the same labels)."""
        old = posixpath.join(old_run, ANNOTATIONS)
        if not self.fs.exists(old):
            return
        new = self.join(ANNOTATIONS)
        have = {posixpath.basename(f) for f in self.fs.find(new)} if self.fs.exists(new) else set()
        missing = [f for f in self.fs.find(old) if posixpath.basename(f) not in have]
        if missing:
            self.fs.makedirs(new, exist_ok=True)
            self.fs.copy(missing, [posixpath.join(new, posixpath.basename(f)) for f in missing])

    def _move(self, source: str, dest: str) -> None:
        """Move a folder. On a local disk one rename. An object store copies, then deletes,
        object by object (fsspec's recursive mv would also try to copy the folder names,
        which are no objects there): the files are copied one by one, a run's manifest last
        and deleted first, so a folder holds a finished run only while it is whole."""
        if self.renames_atomically:
            self.fs.mv(source, dest, recursive=True)
            return
        manifest = posixpath.join(source, MANIFEST)
        files = self.fs.find(source)
        rest = [f for f in files if f != manifest]
        self.fs.copy(rest, [dest + f[len(source) :] for f in rest], on_error="raise")
        if manifest in files:
            self.fs.copy(manifest, posixpath.join(dest, MANIFEST), on_error="raise")
            self.fs.rm(manifest)
        self.fs.rm(source, recursive=True)
