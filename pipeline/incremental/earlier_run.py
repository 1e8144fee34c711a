"""The earlier run an incremental run reuses, checked before Ray starts: it must be a finished
run; when nothing of it can be reused for a reason known up front, the reason is kept so the
manifest and the printed line say it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.incremental.spec import IncrementalSpec
from pipeline.storage.run_dir import MANIFEST, RunDirectory, RunState

JUDGMENTS = "judgments"  # a finished run's recorded judgments: parquet parts


class EarlierRunError(ValueError):
    """incremental.from names no finished run."""


@dataclass(frozen=True)
class EarlierRun:
    uri: str
    run_dir: RunDirectory
    run_id: str | None
    nothing_reused_because: str | None  # None: its judgments may answer some requests

    @property
    def judgments(self) -> str:
        return self.run_dir.join(JUDGMENTS)


def check_earlier_run(
    incremental: IncrementalSpec,
    output_options: dict[str, Any],
    fingerprints: Mapping[str, str],
    id_type: pa.DataType | None = None,
    engine: Mapping[str, str] | None = None,
) -> EarlierRun:
    """The earlier run, read only; `fingerprints`: this run's judges' (name -> fingerprint),
    `id_type`: the type of this input's id column, `engine`: the package versions this
    run's judge engines run on (pipeline.manifest.engine_versions; none without one)."""
    uri = incremental.from_
    options = incremental.storage_options
    run_dir = RunDirectory(uri, output_options if options is None else options)
    state = run_dir.state()
    if state is not RunState.FINISHED:
        raise EarlierRunError(
            f"incremental.from: {uri!r} is not a finished rayscore run ({state.value}: "
            f"no {MANIFEST}); give the directory of a run that finished"
        )
    manifest = run_dir.read_json(MANIFEST)
    return EarlierRun(
        uri=uri,
        run_dir=run_dir,
        run_id=manifest.get("run_id"),
        nothing_reused_because=_nothing_reusable(
            run_dir, manifest, fingerprints, id_type, engine or {}
        ),
    )


def _nothing_reusable(
    run_dir: RunDirectory,
    manifest: dict[str, Any],
    fingerprints: Mapping[str, str],
    id_type: pa.DataType | None,
    engine: Mapping[str, str],
) -> str | None:
    folder = run_dir.join(JUDGMENTS)
    files = run_dir.fs.find(folder) if run_dir.fs.exists(folder) else []
    parts = [f for f in files if f.endswith(".parquet")]
    if not parts:
        return (
            f"the earlier run has no {JUDGMENTS}/ (it was made before rayscore recorded "
            "its judgments)"
        )
    moved = _versions_moved(manifest.get("versions") or {}, engine)
    if moved:
        return (
            f"the judge engine's packages differ from the earlier run's ({moved}): "
            "everything is judged again"
        )
    earlier = set((manifest.get("judge") or {}).get("fingerprints", {}).values())
    if fingerprints and not earlier & set(fingerprints.values()):
        return (
            "no judge of this run has the fingerprint of one of the earlier run's (its model "
            "files or a setting that shapes answers differ): everything is judged again"
        )
    earlier_id = pq.read_schema(parts[0], filesystem=run_dir.arrow_fs).field("id").type
    if id_type is not None and _id_kind(earlier_id) != _id_kind(id_type):
        return f"the earlier run's ids are {earlier_id}, this input's {id_type}: no row matches"
    return None


def _versions_moved(earlier: Mapping[str, str], engine: Mapping[str, str]) -> str:
    """The engine packages whose version is not the earlier run's, as "torch 2.4 -> 2.5"."""
    return ", ".join(
        f"{name} {earlier.get(name, 'none')} -> {version}"
        for name, version in engine.items()
        if earlier.get(name) != version
    )


def _id_kind(id_type: pa.DataType) -> pa.DataType:
    """string and large_string (and binary, large_binary) join alike."""
    if pa.types.is_large_string(id_type):
        return pa.string()
    if pa.types.is_large_binary(id_type):
        return pa.binary()
    return id_type
