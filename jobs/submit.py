"""Submit a scoring job to a Ray cluster with Ray Jobs; follow, list and stop submitted jobs.

The job's command is the cluster's `rayscore run SPEC` (the console script first on the job's
PATH, that is the head's PATH: it runs in the Python rayscore was installed into), or `python
-m jobs.cli run SPEC` when no `rayscore` is on that PATH or the runtime env installs packages
(`--pip`, or pip/uv/conda/py_executable in `--runtime-env`): then the job's own Python, the one
that sees those packages, runs it. The working directory is uploaded and is the job's current
directory; Ray also puts it first on PYTHONPATH for the driver and every worker, so a rayscore
checkout uploaded this way shadows the installed package, consistently on every process.

Token authentication works without RAY_AUTH_MODE=token in the shell: the token is read the way
Ray reads it (RAY_AUTH_TOKEN, then the file RAY_AUTH_TOKEN_PATH names, then ~/.ray/auth_token)
and sent with every request, unless RAY_AUTH_MODE=disabled.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import yaml

from pipeline.plan import plan_of
from pipeline.spec import JobSpec
from scorers.judge.api_key import api_key_env_vars
from scorers.judge.openai_spec import OpenAIJudgeSpec

UPLOAD_EXCLUDES = [
    ".venv/",
    ".venv-gpu/",
    ".git/",
    "runs/",
    "__pycache__/",
    ".mypy_cache/",
    ".ruff_cache/",
]
FINAL_STATES = {"SUCCEEDED", "FAILED", "STOPPED"}
AGENT_WAIT_S = 90
SETTLE_S = 30  # how long a job may take to report its final state once its logs have ended
FORWARDED_ENV = ["VLLM_CPU_KVCACHE_SPACE"]
# Runtime env fields that give the job a Python of its own (Ray's virtualenv or conda env).
OWN_PYTHON_FIELDS = ("pip", "uv", "conda", "py_executable")
ADDRESS_ENV = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")  # Ray's job CLI reads them in this order
JOB_NAME_KEY = "rayscore_job"
T = TypeVar("T")


class ClusterError(Exception):
    """The cluster could not be reached, refused us, or does not know the job: one line."""


@dataclass(frozen=True)
class Submission:
    entrypoint: str
    runtime_env: dict[str, Any]
    metadata: dict[str, str]


@dataclass(frozen=True)
class JobRow:
    submission_id: str
    status: str
    name: str
    start_time: float | None  # seconds since the epoch


# --- what is submitted -------------------------------------------------------------------------


def plan_submission(
    spec: JobSpec,
    spec_path: str,
    working_dir: str,
    run_flags: Sequence[str] = (),
    runtime_env_file: str | None = None,
    pip: Sequence[str] = (),
) -> Submission:
    """The job's command, runtime env and metadata; the spec path is relative to working_dir."""
    root = Path(working_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"--working-dir {working_dir}: no such directory")
    try:
        relative = Path(spec_path).resolve().relative_to(root)
    except ValueError:
        raise ValueError(
            f"{spec_path} is outside the working directory {root}, which is what is uploaded; "
            "pass --working-dir a folder that holds the spec"
        ) from None
    runtime_env = merge_runtime_env(
        {"working_dir": str(root), "excludes": list(UPLOAD_EXCLUDES)},
        load_runtime_env(runtime_env_file) if runtime_env_file else {},
        pip,
    )
    env = forwarded_env(spec)
    if env:
        runtime_env["env_vars"] = {**env, **runtime_env.get("env_vars", {})}
    own_python = any(field in runtime_env for field in OWN_PYTHON_FIELDS)
    return Submission(
        entrypoint=job_entrypoint(relative.as_posix(), run_flags, own_python=own_python),
        runtime_env=runtime_env,
        metadata={JOB_NAME_KEY: spec.name, "rayscore_spec": relative.as_posix()},
    )


def job_entrypoint(spec: str, run_flags: Sequence[str], *, own_python: bool) -> str:
    """The shell command the job runs (Ray runs it with the head's environment)."""
    args = shlex.join(["run", spec, *run_flags])
    module = f"python -m jobs.cli {args}"
    if own_python:
        return module
    installed = f"exec rayscore {args}"
    return f"if command -v rayscore >/dev/null 2>&1; then {installed}; else exec {module}; fi"


def load_runtime_env(path: str) -> dict[str, Any]:
    """A runtime env from a YAML or JSON file (JSON is YAML)."""
    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"--runtime-env {path}: no such file") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"--runtime-env {path}: not YAML or JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"--runtime-env {path}: expected a mapping of runtime env fields")
    if "working_dir" in loaded:
        raise ValueError(
            f"--runtime-env {path}: working_dir is set by rayscore (--working-dir, the folder "
            "that holds the spec)"
        )
    return loaded


def merge_runtime_env(
    base: dict[str, Any], extra: dict[str, Any], pip: Sequence[str]
) -> dict[str, Any]:
    """extra's fields override base's; env_vars merge (extra wins), excludes add up, --pip adds."""
    merged = {**base, **extra}
    if "env_vars" in base and "env_vars" in extra:
        merged["env_vars"] = {**base["env_vars"], **extra["env_vars"]}
    if "excludes" in extra:
        merged["excludes"] = [*base.get("excludes", []), *extra["excludes"]]
    if pip:
        current = merged.get("pip")
        if current is None:
            merged["pip"] = list(pip)
        elif isinstance(current, list):
            merged["pip"] = [*current, *pip]
        elif isinstance(current, dict) and isinstance(current.get("packages"), list):
            merged["pip"] = {**current, "packages": [*current["packages"], *pip]}
        else:
            raise ValueError(
                "--pip adds to the runtime env's pip list; its pip is a requirements file: "
                "list the packages there instead"
            )
    return merged


def relative_output_warning(spec: JobSpec) -> str | None:
    """A relative output.path lands in the job's unpacked copy of the working directory."""
    path = spec.output.path
    if "://" in path or Path(path).is_absolute():
        return None
    return (
        f"output.path {path} is relative: the run will be written inside the job's copy of the "
        "working directory on the cluster (its path is in the logs) and cannot be resumed; "
        "use an absolute path on shared storage or a URI (s3://...)"
    )


def forwarded_env(spec: JobSpec) -> dict[str, str]:
    """The judges' API keys, so the job's actors can call the endpoints (never logged)."""
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    for judge in plan_of(spec).judges.values():
        if not isinstance(judge, OpenAIJudgeSpec):
            continue
        if judge.api_key_env and os.environ.get(judge.api_key_env):
            env.update(api_key_env_vars(judge.api_key_env))
    return env


# --- talking to the cluster ----------------------------------------------------------------------


def cluster_address(address: str | None) -> str | None:
    """--address, else RAY_API_SERVER_ADDRESS, else RAY_ADDRESS, else None (a local cluster)."""
    for candidate in (address, *(os.environ.get(name) for name in ADDRESS_ENV)):
        if candidate:
            return candidate
    return None


def token_source() -> str | None:
    """Where Ray would read the token from, in Ray's order; None when there is none."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return "RAY_AUTH_TOKEN"
    if os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return f"RAY_AUTH_TOKEN_PATH ({os.environ['RAY_AUTH_TOKEN_PATH']})"
    default = Path.home() / ".ray" / "auth_token"
    return str(default) if default.is_file() and default.read_text().strip() else None


def auth_headers() -> dict[str, str]:
    """The cluster token as Ray's own loader finds it, whatever RAY_AUTH_MODE says (but
    `disabled`). Ray's SDK sends it only with RAY_AUTH_MODE=token exported; rayscore always."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return {}
    from ray._raylet import AuthenticationTokenLoader  # type: ignore[attr-defined]
    from ray.exceptions import AuthenticationError

    try:
        loader = AuthenticationTokenLoader.instance()
        loader.reset_cache()  # it caches the first token it read; the environment may differ now
        token = loader.get_raw_token(ignore_auth_mode=True)
    except AuthenticationError as exc:  # RAY_AUTH_TOKEN_PATH names a missing or empty file
        raise ClusterError(f"{exc.message}; fix RAY_AUTH_TOKEN_PATH or unset it") from None
    return {"Authorization": f"Bearer {token}"} if token else {}


@contextmanager
def _address_env_hidden(hide: bool) -> Iterator[None]:
    """Ray lets RAY_API_SERVER_ADDRESS / RAY_ADDRESS override an explicit address; we do not."""
    saved = {name: os.environ.pop(name) for name in ADDRESS_ENV if hide and name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextmanager
def cluster_errors(address: str | None, submission_id: str | None = None) -> Iterator[None]:
    """Ray's errors about the cluster as one ClusterError line naming what to do."""
    from ray.exceptions import AuthenticationError

    where = f"the Ray cluster at {address}" if address else "the local Ray cluster"
    try:
        yield
    except AuthenticationError as exc:
        source = token_source()
        if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
            raise ClusterError(
                f"{where} requires a token and RAY_AUTH_MODE=disabled here keeps it from being "
                "sent: unset RAY_AUTH_MODE"
            ) from None
        if source is None or "Authentication required" in exc.message:
            raise ClusterError(
                f"{where} requires a token and none was found here: copy the cluster's token "
                "(`ray get-auth-token` on the head) into ~/.ray/auth_token or RAY_AUTH_TOKEN"
            ) from None
        raise ClusterError(
            f"{where} refused the token from {source}: put the cluster's token "
            "(`ray get-auth-token` on the head) there"
        ) from None
    except (ConnectionError, OSError) as exc:
        if not isinstance(exc, ConnectionError) and not type(exc).__module__.startswith(
            ("requests", "aiohttp", "urllib3")
        ):
            raise
        raise ClusterError(
            f"cannot reach {where}: pass --address http://HEAD:8265 (the dashboard) or set "
            "RAY_API_SERVER_ADDRESS"
        ) from None
    except RuntimeError as exc:
        text = str(exc)
        if submission_id and ("404" in text or "does not exist" in text):
            raise ClusterError(f"{where} has no job {submission_id}") from None
        raise ClusterError(f"{where}: {text.strip().splitlines()[0]}") from None
    except Exception as exc:  # the log stream's (aiohttp's) own errors
        if not type(exc).__module__.startswith("aiohttp"):
            raise
        raise ClusterError(f"{where}: {exc}") from None


class Cluster:
    """A Ray Jobs client for one address, with the token sent and errors as ClusterError."""

    def __init__(self, address: str | None) -> None:
        from ray.job_submission import JobSubmissionClient

        # Ray's SDK logs every closed log stream at INFO.
        logging.getLogger("ray.dashboard.modules.job.sdk").setLevel(logging.WARNING)
        self.address = cluster_address(address)
        with cluster_errors(self.address), _address_env_hidden(self.address is not None):
            self.client = JobSubmissionClient(self.address, headers=auth_headers())
        self.address = self.address or str(self.client.get_address())

    def _call(self, submission_id: str | None, fn: Callable[[], T]) -> T:
        with cluster_errors(self.address, submission_id):
            return fn()

    def submit(self, submission: Submission) -> str:
        deadline = time.monotonic() + AGENT_WAIT_S
        with cluster_errors(self.address):
            while True:
                try:
                    return str(
                        self.client.submit_job(
                            entrypoint=submission.entrypoint,
                            runtime_env=submission.runtime_env,
                            metadata=submission.metadata,
                        )
                    )
                except RuntimeError as exc:
                    # A head that just started has a dashboard before its job agent.
                    if "try again later" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(2)

    def status(self, submission_id: str) -> str:
        return str(self._call(submission_id, lambda: self.client.get_job_status(submission_id)))

    def message(self, submission_id: str) -> str | None:
        info = self._call(submission_id, lambda: self.client.get_job_info(submission_id))
        return str(info.message) if info.message else None

    def logs(self, submission_id: str) -> str:
        return str(self._call(submission_id, lambda: self.client.get_job_logs(submission_id)))

    def follow(self, submission_id: str, out: IO[str], timeout_s: float | None = None) -> str:
        """Write the job's logs to out as they come until it ends (or timeout_s passes);
        return its state then."""

        async def stream() -> None:
            async for chunk in self.client.tail_job_logs(submission_id):
                out.write(chunk)
                out.flush()

        self.status(submission_id)  # an unknown id: one clear line, not a failed handshake
        try:
            self._call(submission_id, lambda: asyncio.run(_bounded(stream(), timeout_s)))
        except asyncio.TimeoutError:  # TimeoutError from Python 3.11 on
            return self.status(submission_id)
        return self.settle(submission_id, SETTLE_S)

    def settle(self, submission_id: str, timeout_s: float) -> str:
        """The job's state once it is final, or after timeout_s."""
        deadline = time.monotonic() + timeout_s
        state = self.status(submission_id)
        while state not in FINAL_STATES and time.monotonic() < deadline:
            time.sleep(0.5)
            state = self.status(submission_id)
        return state

    def stop(self, submission_id: str) -> bool:
        return bool(self._call(submission_id, lambda: self.client.stop_job(submission_id)))

    def jobs(self) -> list[JobRow]:
        """Submitted jobs (not plain drivers), oldest first."""
        rows = []
        for job in self._call(None, self.client.list_jobs):
            if not job.submission_id:
                continue
            metadata = job.metadata or {}
            rows.append(
                JobRow(
                    submission_id=str(job.submission_id),
                    status=str(job.status),
                    name=str(metadata.get(JOB_NAME_KEY, "-")),
                    start_time=job.start_time / 1000 if job.start_time else None,
                )
            )
        return sorted(rows, key=lambda row: row.start_time or 0.0)


async def _bounded(coroutine: Any, timeout_s: float | None) -> None:
    await asyncio.wait_for(coroutine, timeout_s)


def job_table(rows: Sequence[JobRow]) -> str:
    """The jobs as a plain, space-aligned Polars table, one line per job."""
    import polars as pl

    table = pl.DataFrame(
        {
            "submission_id": [r.submission_id for r in rows],
            "status": [r.status for r in rows],
            "rayscore_job": [r.name for r in rows],
            "started": [
                datetime.fromtimestamp(r.start_time).strftime("%Y-%m-%d %H:%M:%S")
                if r.start_time
                else "-"
                for r in rows
            ],
        },
        schema={c: pl.String for c in ("submission_id", "status", "rayscore_job", "started")},
    )
    with pl.Config(
        tbl_formatting="NOTHING",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=1000,
        fmt_str_lengths=1000,
        tbl_cell_alignment="LEFT",
    ):
        return "\n".join(line.strip() for line in str(table).splitlines())
