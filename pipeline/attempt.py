"""One attempt at a job: everything checked before Ray or any engine starts, and where the
attempt writes. A run directory holding an unfinished run of the same job is resumed; one
holding this very job's finished run is complete (nothing is done); one holding another
finished run is replaced only with --overwrite, and only once the new run has finished (it
is built beside the old one). The attempt holds a lease on the directory it writes: a second
run there is refused while the first is alive."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pipeline.annotations.names import check_annotation_names
from pipeline.calibration import load_stored
from pipeline.fingerprint import changed_keys, run_fingerprint
from pipeline.incremental.earlier_run import EarlierRun, check_earlier_run
from pipeline.judge_fingerprint import judge_fingerprint, local_engine_versions
from pipeline.manifest import sha256_json
from pipeline.plan import Plan, plan_of
from pipeline.resolve import resolve_spec_paths
from pipeline.source import InputSource, resolve_input
from pipeline.spec import JobSpec
from pipeline.storage.output_check import check_output_writable
from pipeline.storage.run_dir import (
    FINGERPRINT,
    IDENTITY,
    MANIFEST,
    NEW_SUFFIX,
    WORK,
    RunDirectory,
    RunDirectoryExists,
    RunState,
)
from pipeline.storage.run_lease import RunLease
from scorers.judge.api_key import api_key_env_vars
from scorers.judge.openai_spec import OpenAIJudgeSpec


class FingerprintChanged(RunDirectoryExists):
    pass


class RunComplete(Exception):
    """output.path holds this very job's finished run: same spec, input, judges, versions."""

    def __init__(self, run_dir: RunDirectory) -> None:
        super().__init__(f"output.path {run_dir.uri!r} holds this job's finished run")
        self.run_dir = run_dir


@dataclass(frozen=True)
class Run:
    """One attempt: the resolved spec, the checked input, where it writes (`run_dir`, which
    is `target` unless a finished run there is being replaced) and what it resumes."""

    spec: JobSpec
    plan: Plan
    spec_file: str | None
    run_id: str  # the run's: kept by every attempt that resumes it (its records carry it)
    started_at: str  # the run's first attempt's
    attempt_id: str
    source: InputSource
    run_dir: RunDirectory
    target: RunDirectory
    fingerprint: dict[str, Any]
    resumed: bool
    judge_env: dict[str, str] = field(repr=False)  # holds the API keys
    stored_calibration: dict[str, Any] | None = None  # calibration.from's, read up front
    judge_fingerprints: dict[str, str] = field(default_factory=dict)  # judge name -> its
    earlier: EarlierRun | None = None  # incremental.from's run, checked up front
    lease: RunLease | None = field(default=None, repr=False, compare=False)

    def release(self) -> None:
        """Let other runs write run_dir again (before it is committed in place)."""
        if self.lease is not None:
            self.lease.release()

    @property
    def staging(self) -> str:
        return self.run_dir.staging_path(self.attempt_id)

    @property
    def replaces(self) -> bool:
        return bool(self.run_dir.path != self.target.path)


def check_job(
    spec: JobSpec, spec_file: str | None, *, overwrite: bool = False, restart: bool = False
) -> Run:
    """Everything that can fail cheaply, before Ray or any engine starts."""
    now = datetime.now(timezone.utc)
    attempt_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    identity = {"run_id": attempt_id, "started_at": now.isoformat(timespec="seconds")}
    spec = resolve_spec_paths(spec)
    source = resolve_input(spec)
    check_annotation_names(spec)
    calibration_from = spec.calibration.from_ if spec.calibration is not None else None
    options = spec.output.storage_options
    stored_calibration = load_stored(calibration_from, options) if calibration_from else None
    check_output_writable(spec.output.path, options)
    plan = plan_of(spec)
    fingerprint = run_fingerprint(plan, source)
    judges = {name: judge_fingerprint(judge) for name, judge in plan.used_judges.items()}
    earlier = None
    if spec.incremental is not None:
        id_type = source.schema.field(spec.input.id_column).type
        engine = local_engine_versions(plan.used_judges.values())
        earlier = check_earlier_run(spec.incremental, options, judges, id_type, engine)
    target = RunDirectory(spec.output.path, options)
    if not overwrite:
        _stop_if_complete(target, spec, fingerprint)
    run_dir, discard = _where_to_write(target, overwrite)
    lease = RunLease.acquire(run_dir, attempt_id)  # before anything there is touched
    try:
        resumed = _prepare(run_dir, fingerprint, restart or discard)
        if resumed and run_dir.fs.exists(run_dir.join(IDENTITY)):
            identity = run_dir.read_json(IDENTITY)
        run_dir.write_json(IDENTITY, identity)
        run_dir.write_json(FINGERPRINT, fingerprint)
    except BaseException:
        lease.release()
        raise
    return Run(
        spec=spec,
        plan=plan,
        spec_file=spec_file,
        run_id=identity["run_id"],
        started_at=identity["started_at"],
        attempt_id=attempt_id,
        source=source,
        run_dir=run_dir,
        target=target,
        fingerprint=fingerprint,
        resumed=resumed,
        judge_env=judge_env(plan),
        stored_calibration=stored_calibration,
        judge_fingerprints=judges,
        earlier=earlier,
        lease=lease,
    )


def judge_env(plan: Plan) -> dict[str, str]:
    """What the judge actors' environment needs from this one: the openai judges' API keys."""
    return {
        name: value
        for judge in plan.used_judges.values()
        if isinstance(judge, OpenAIJudgeSpec)
        for name, value in api_key_env_vars(judge.api_key_env).items()
    }


def _stop_if_complete(target: RunDirectory, spec: JobSpec, fingerprint: dict[str, Any]) -> None:
    """Raise RunComplete when target holds this very job's finished run."""
    if target.state() is not RunState.FINISHED:
        return
    manifest = target.read_json(MANIFEST)
    same_spec = manifest.get("spec") == json.loads(
        json.dumps(spec.dump_without_secrets(), default=str)
    )
    if same_spec and manifest.get("fingerprint_sha256") == sha256_json(fingerprint):
        raise RunComplete(target)


def _where_to_write(target: RunDirectory, overwrite: bool) -> tuple[RunDirectory, bool]:
    """(the directory this attempt writes, whether an unfinished run there is discarded)."""
    state = target.state()
    if state is RunState.EMPTY:
        return target, False
    if state is RunState.UNFINISHED:
        return target, overwrite
    if not overwrite:
        raise RunDirectoryExists(
            f"output.path {target.uri!r} already holds files; choose another path or pass "
            "--overwrite to replace that run (it is kept until the new run has finished)"
        )
    # The replacement is built beside the old run, under a fixed name, so an --overwrite
    # run that is interrupted resumes there too.
    return RunDirectory(f"{target.uri.rstrip('/')}{NEW_SUFFIX}", target.storage_options), False


def _prepare(run_dir: RunDirectory, fingerprint: dict[str, Any], restart: bool) -> bool:
    """Whether the attempt resumes what run_dir holds; anything else left there (an earlier
    replacement that never started or finished) is cleared."""
    state = run_dir.state()
    if state is RunState.UNFINISHED:
        return _resumes(run_dir, fingerprint, restart)
    if state is not RunState.EMPTY:
        run_dir.clear()
    return False


def _resumes(run_dir: RunDirectory, fingerprint: dict[str, Any], restart: bool) -> bool:
    """Whether the unfinished run in `run_dir` is resumed; refused when it is another job."""
    if restart:
        run_dir.clear(under=WORK)
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
