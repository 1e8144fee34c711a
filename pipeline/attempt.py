"""One attempt at a job: everything checked before Ray or any engine starts, and where the
attempt writes. A run directory holding an unfinished run of the same job is resumed; one
holding a finished run is replaced only with --overwrite, and only once the new run has
finished (it is built beside the old one)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pipeline.annotation_names import check_annotation_names
from pipeline.calibration import load_stored
from pipeline.fingerprint import changed_keys, run_fingerprint
from pipeline.output_check import check_output_writable
from pipeline.resolve import resolve_spec_paths
from pipeline.run_dir import (
    FINGERPRINT,
    NEW_SUFFIX,
    WORK,
    RunDirectory,
    RunDirectoryExists,
    RunState,
)
from pipeline.source import InputSource, resolve_input
from pipeline.spec import JobSpec
from scorers.judge.api_key import api_key_env_vars


class FingerprintChanged(RunDirectoryExists):
    pass


@dataclass(frozen=True)
class Run:
    """One attempt: the resolved spec, the checked input, where it writes (`run_dir`, which
    is `target` unless a finished run there is being replaced) and what it resumes."""

    spec: JobSpec
    spec_file: str | None
    run_id: str
    started_at: str
    source: InputSource
    run_dir: RunDirectory
    target: RunDirectory
    fingerprint: dict[str, Any]
    resumed: bool
    judge_env: dict[str, str] = field(repr=False)  # holds the API keys
    stored_calibration: dict[str, Any] | None = None  # calibration.from's, read up front

    @property
    def staging(self) -> str:
        return self.run_dir.staging_path(self.run_id)

    @property
    def replaces(self) -> bool:
        return bool(self.run_dir.path != self.target.path)


def check_job(
    spec: JobSpec, spec_file: str | None, *, overwrite: bool = False, restart: bool = False
) -> Run:
    """Everything that can fail cheaply, before Ray or any engine starts."""
    now = datetime.now(timezone.utc)
    run_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    spec = resolve_spec_paths(spec)
    source = resolve_input(spec)
    check_annotation_names(spec)
    calibration_from = spec.calibration.from_ if spec.calibration is not None else None
    options = spec.output.storage_options
    stored_calibration = load_stored(calibration_from, options) if calibration_from else None
    check_output_writable(spec.output.path, options)
    fingerprint = run_fingerprint(spec, source)
    target = RunDirectory(spec.output.path, options)
    run_dir, resumed = _where_to_write(target, fingerprint, overwrite, restart)
    run_dir.write_json(FINGERPRINT, fingerprint)
    return Run(
        spec=spec,
        spec_file=spec_file,
        run_id=run_id,
        started_at=now.isoformat(timespec="seconds"),
        source=source,
        run_dir=run_dir,
        target=target,
        fingerprint=fingerprint,
        resumed=resumed,
        judge_env=judge_env(spec),
        stored_calibration=stored_calibration,
    )


def judge_env(spec: JobSpec) -> dict[str, str]:
    """What the judge actors' environment needs from this one: the openai judges' API keys."""
    return {
        name: value
        for judge in spec.used_judges().values()
        if judge.backend == "openai"
        for name, value in api_key_env_vars(judge.api_key_env).items()
    }


def _where_to_write(
    target: RunDirectory, fingerprint: dict[str, Any], overwrite: bool, restart: bool
) -> tuple[RunDirectory, bool]:
    """(the directory this attempt writes, whether it resumes an unfinished run there)."""
    state = target.state()
    if state is RunState.EMPTY:
        return target, False
    if state is RunState.UNFINISHED:
        return target, _resumes(target, fingerprint, restart or overwrite)
    if not overwrite:
        raise RunDirectoryExists(
            f"output.path {target.uri!r} already holds files; choose another path or pass "
            "--overwrite to replace that run (it is kept until the new run has finished)"
        )
    # The replacement is built beside the old run, under a fixed name, so an --overwrite
    # run that is interrupted resumes there too.
    beside = RunDirectory(f"{target.uri.rstrip('/')}{NEW_SUFFIX}", target.storage_options)
    if beside.state() is RunState.UNFINISHED:
        return beside, _resumes(beside, fingerprint, restart)
    beside.remove(beside.path)  # an earlier replacement that never started or finished
    return beside, False


def _resumes(run_dir: RunDirectory, fingerprint: dict[str, Any], restart: bool) -> bool:
    """Whether the unfinished run in `run_dir` is resumed; refused when it is another job."""
    if restart:
        run_dir.remove(run_dir.join(WORK))
        return False
    changed = changed_keys(run_dir.read_json(FINGERPRINT), fingerprint)
    if changed:
        listed = ", ".join(changed[:12]) + (" ..." if len(changed) > 12 else "")
        raise FingerprintChanged(
            f"output.path {run_dir.uri!r} holds an unfinished run of a different job "
            f"(changed: {listed}); pass --restart to start over (its committed shards "
            "are discarded), or choose another output.path"
        )
    return True
