"""Submit a scoring job to a Ray cluster with Ray Jobs, and follow it.

The working directory (the repo, or wherever the spec's relative paths point from) is
uploaded as the job's runtime env; the job runs `python -m jobs.cli run SPEC` on the cluster,
so the cluster needs rayscore's dependencies installed (cluster.yaml does that).
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.spec import JobSpec
from scorers.judge.api_key import api_key_env_vars

UPLOAD_EXCLUDES = [".venv/", ".git/", "runs/", "__pycache__/", ".mypy_cache/", ".ruff_cache/"]
FINAL_STATES = {"SUCCEEDED", "FAILED", "STOPPED"}
AGENT_WAIT_S = 90
FORWARDED_ENV = ["VLLM_CPU_KVCACHE_SPACE"]


def submit(
    spec: JobSpec,
    spec_path: str,
    address: str,
    working_dir: str,
    run_flags: Sequence[str] = (),
) -> str:
    """Submit and return the submission id. The spec path is taken relative to working_dir."""
    from ray.job_submission import JobSubmissionClient

    root = Path(working_dir).resolve()
    relative = Path(spec_path).resolve().relative_to(root)
    command = ["python", "-m", "jobs.cli", "run", relative.as_posix(), *run_flags]
    runtime_env: dict[str, Any] = {"working_dir": str(root), "excludes": UPLOAD_EXCLUDES}
    env = _forwarded_env(spec)
    if env:
        runtime_env["env_vars"] = env
    client = JobSubmissionClient(address)
    deadline = time.monotonic() + AGENT_WAIT_S
    while True:
        try:
            return str(
                client.submit_job(
                    entrypoint=shlex.join(command),
                    runtime_env=runtime_env,
                    metadata={"rayscore_job": spec.name},
                )
            )
        except RuntimeError as exc:
            # A head that just started has a dashboard before its job agent.
            if "try again later" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(2)


def _forwarded_env(spec: JobSpec) -> dict[str, str]:
    """The judges' API keys, so the job's actors can call the endpoints (never logged)."""
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    for judge in spec.all_judges().values():
        if judge.api_key_env and os.environ.get(judge.api_key_env):
            env.update(api_key_env_vars(judge.api_key_env))
    return env


def status(address: str, submission_id: str) -> str:
    from ray.job_submission import JobSubmissionClient

    return str(JobSubmissionClient(address).get_job_status(submission_id).value)


def logs(address: str, submission_id: str) -> str:
    from ray.job_submission import JobSubmissionClient

    return str(JobSubmissionClient(address).get_job_logs(submission_id))


def wait(address: str, submission_id: str, timeout_s: float, poll_s: float = 2.0) -> str:
    """Poll until the job ends (or timeout_s passes); return its last status."""
    deadline = time.monotonic() + timeout_s
    state = status(address, submission_id)
    while state not in FINAL_STATES and time.monotonic() < deadline:
        time.sleep(poll_s)
        state = status(address, submission_id)
    return state
