"""The earlier run an incremental run reuses, checked before Ray starts: it must be a finished
run; when nothing of it can be reused for a reason known up front, the reason is kept so the
manifest and the printed line say it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
) -> EarlierRun:
    """The earlier run, read only; `fingerprints`: this run's judges' (name -> fingerprint)."""
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
        nothing_reused_because=_nothing_reusable(run_dir, manifest, fingerprints),
    )


def _nothing_reusable(
    run_dir: RunDirectory, manifest: dict[str, Any], fingerprints: Mapping[str, str]
) -> str | None:
    files = run_dir.fs.find(run_dir.join(JUDGMENTS)) if run_dir.fs.exists(
        run_dir.join(JUDGMENTS)
    ) else []  # fmt: skip
    if not any(f.endswith(".parquet") for f in files):
        return (
            f"the earlier run has no {JUDGMENTS}/ (it was made before rayscore recorded "
            "its judgments)"
        )
    earlier = set((manifest.get("judge") or {}).get("fingerprints", {}).values())
    if fingerprints and not earlier & set(fingerprints.values()):
        return (
            "no judge of this run has the fingerprint of one of the earlier run's (its model "
            "files or a setting that shapes answers differ): everything is judged again"
        )
    return None
