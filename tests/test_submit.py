"""`rayscore submit`, `status`, `logs`, `stop`, `list` and plain `ray job submit` against a real
Ray head started here the way the README says: `ray get-auth-token --generate`, then
`RAY_AUTH_MODE=token ray start --head` from the venv (PATH with .venv/bin first), in its own
process group, ports and temp dir, with its own HOME (so its token is not the machine's).

The rayscore commands run without RAY_AUTH_MODE in their environment: they find the token in
~/.ray/auth_token themselves. Plain `ray job ...` needs RAY_AUTH_MODE=token (Ray's CLI sends the
token only then).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ENGINE_KWARGS, NO_LABEL_FLOOR

from bench.ports import free_ports

pytestmark = pytest.mark.ray
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
RAYSCORE = str(BIN / "rayscore")
CLIENT_ENV_DROPPED = (
    "RAY_ADDRESS",
    "RAY_API_SERVER_ADDRESS",
    "RAY_AUTH_MODE",
    "RAY_AUTH_TOKEN",
    "RAY_AUTH_TOKEN_PATH",
)
SUBMISSION_ID = re.compile(r"raysubmit_\w+")

UNIQUENESS_SPEC = """
name: {name}
input: {{path: {data}, id_column: id}}
output: {{path: {out}}}
definition:
  scorers:
    - type: uniqueness
      key: uniq
      column: text
      metrics: [{{type: mean, field: is_unique, name: unique rate}}]
"""
# No judge, no Ray Data shuffle: one Ray task, the quickest whole job.
QUICK_SPEC = """
name: quick
input: {{path: {data}, id_column: id}}
output: {{path: {out}}}
definition:
  scorers:
    - type: python_all_samples
      key: quick
      compute_scores_snippet: |
        def compute_scores(samples):
            return [{{"x": 1.0}} for _ in samples]
      metrics: [{{type: mean, field: x, name: mean x}}]
"""
# Runs until stopped: its one Ray task sleeps.
SLEEPING_SPEC = """
name: sleeper
input: {{path: {data}, id_column: id}}
output: {{path: {out}}}
definition:
  scorers:
    - type: python_all_samples
      key: slow
      compute_scores_snippet: |
        def compute_scores(samples):
            import time
            time.sleep(600)
            return [{{"x": 1.0}} for _ in samples]
"""


@dataclass
class Head:
    address: str
    env: dict[str, str]  # a client's: HOME holds the token, no RAY_AUTH_MODE, no RAY_ADDRESS


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Head]:
    home = tmp_path_factory.mktemp("home")
    logs = tmp_path_factory.mktemp("head")
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV_DROPPED}
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(
        [str(BIN / "ray"), "get-auth-token", "--generate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert (home / ".ray" / "auth_token").is_file()
    # Ray's session folder holds Unix sockets: keep its path short.
    temp_dir = tempfile.mkdtemp(prefix="rs-ray-", dir="/tmp")
    ports = iter(free_ports(9))
    dashboard = next(ports)
    process = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            "--block",
            f"--port={next(ports)}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard}",
            # Own ports for every service: another local cluster may hold the defaults, and a
            # head whose agent cannot bind never accepts a job.
            f"--dashboard-agent-listen-port={next(ports)}",
            f"--dashboard-agent-grpc-port={next(ports)}",
            f"--runtime-env-agent-port={next(ports)}",
            f"--metrics-export-port={next(ports)}",
            f"--ray-client-server-port={next(ports)}",
            f"--node-manager-port={next(ports)}",
            f"--object-manager-port={next(ports)}",
            f"--temp-dir={temp_dir}",
            "--num-cpus=2",
            "--include-dashboard=true",
            "--disable-usage-stats",
        ],
        stdout=(logs / "head.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # No draining on SIGTERM: Ray 2.60 waits up to 30 s for leased workers otherwise.
        env={**env, "RAY_AUTH_MODE": "token", "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"},
    )
    address = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{address}/api/version", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers (token authentication may refuse an anonymous probe)
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"ray head did not start:\n{(logs / 'head.log').read_text()}")
                time.sleep(1)
        yield Head(address, env)
    finally:
        # `ray start --block` stops its cluster on SIGTERM; then nothing of its group may be
        # left.
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


def rayscore(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAYSCORE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


class Streamed:
    """A command whose stdout and stderr lines are collected, with their time, as they come."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: dict[str, list[tuple[float, str]]] = {"stdout": [], "stderr": []}
        self.threads = [
            threading.Thread(target=self._collect, args=(name, stream), daemon=True)
            for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr))
        ]
        for thread in self.threads:
            thread.start()

    def _collect(self, name: str, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines[name].append((time.monotonic(), line))

    def text(self, name: str) -> str:
        return "".join(line for _, line in self.lines[name])

    def wait_for(self, pattern: str, name: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text(name))
            if found:
                return found
            if self.process.poll() is not None:
                time.sleep(0.5)  # the collectors may still hold the last lines
                found = re.search(pattern, self.text(name))
                if found:
                    return found
                break
            time.sleep(0.2)
        raise AssertionError(
            f"{pattern!r} not in {name}:\n{self.text('stdout')}\n{self.text('stderr')}"
        )

    def finish(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        for thread in self.threads:
            thread.join(timeout=10)
        return code


def write_job(workdir: Path, spec: str, **fields: object) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["x", "y", "x"]}), data)
    (workdir / "spec.yaml").write_text(spec.format(data=data, **fields))
    return workdir / "spec.yaml"


def engine_spec(tiny_model: Path, demo_parquet: Path, out: Path) -> str:
    """A checklist job on the real vLLM engine with the small local model."""
    job = {
        "name": "submitted-demo",
        "input": {"path": str(demo_parquet), "id_column": "id"},
        "output": {"path": str(out)},
        "judge": {
            "model": str(tiny_model),
            "engine_kwargs": ENGINE_KWARGS,
            "concurrency": 1,
            "num_gpus": 0,
            "batch_size": 64,
            **NO_LABEL_FLOOR,
        },
        "definition": {
            "scorers": [
                {
                    "type": "checklist",
                    "key": "quality",
                    "input_column": "prompt",
                    "target_column": "response",
                    "checklist": [{"question": "Does the response answer the question?"}],
                    "metrics": [{"type": "mean", "field": "primary_score", "name": "Mean q"}],
                }
            ]
        },
    }
    return json.dumps(job, indent=2)  # JSON is YAML


def test_submit_waits_streaming_the_logs_and_exits_with_the_job_state(
    tmp_path, head, tiny_model, demo_parquet
):
    assert "RAY_AUTH_MODE" not in head.env  # the token in ~/.ray/auth_token is found anyway
    workdir = tmp_path / "job"
    workdir.mkdir()
    out = tmp_path / "run"
    (workdir / "spec.yaml").write_text(engine_spec(tiny_model, demo_parquet, out))
    started = time.monotonic()
    submit = Streamed(
        [RAYSCORE, "submit", "spec.yaml", "--address", head.address], workdir, head.env
    )
    code = submit.finish(timeout=300)
    stdout, stderr = submit.text("stdout"), submit.text("stderr")
    assert code == 0, stdout + stderr
    submission_id = SUBMISSION_ID.search(stderr).group()  # type: ignore[union-attr]
    assert f"{submission_id}: SUCCEEDED" in stderr
    assert f"run directory: {out}" in stdout and "Mean q [quality]" in stdout
    # Streamed: the job's first lines came well before its last ones.
    first = next(t for t, line in submit.lines["stdout"] if "Running entrypoint" in line)
    last = next(t for t, line in submit.lines["stdout"] if "run directory:" in line)
    assert last - first > 2, submit.lines["stdout"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"]["in"] == manifest["rows"]["out"] == 40
    print(f"rayscore submit of the engine job: {time.monotonic() - started:.0f} s")

    status = rayscore(
        "status", submission_id, "--address", head.address, cwd=tmp_path, env=head.env
    )
    assert (status.returncode, status.stdout) == (0, "SUCCEEDED\n"), status.stderr
    logs = rayscore("logs", submission_id, "--address", head.address, cwd=tmp_path, env=head.env)
    assert f"run directory: {out}" in logs.stdout
    listing = rayscore("list", "--address", head.address, cwd=tmp_path, env=head.env)
    row = next(line for line in listing.stdout.splitlines() if submission_id in line)
    assert row.split()[1:3] == ["SUCCEEDED", "submitted-demo"], listing.stdout
    # The address from the environment, as Ray's CLI takes it.
    env = {**head.env, "RAY_API_SERVER_ADDRESS": head.address}
    assert rayscore("status", submission_id, cwd=tmp_path, env=env).stdout == "SUCCEEDED\n"


def test_plain_ray_job_submit_runs_the_same_job(tmp_path, head, tiny_model, demo_parquet):
    """The README's `ray job submit` form: Ray's CLI wants RAY_AUTH_MODE=token to send the
    token, and the entrypoint runs with the head's PATH (the venv's rayscore)."""
    workdir = tmp_path / "job"
    workdir.mkdir()
    out = tmp_path / "run"
    (workdir / "spec.yaml").write_text(engine_spec(tiny_model, demo_parquet, out))
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(BIN / "ray"),
            "job",
            "submit",
            "--address",
            head.address,
            "--working-dir",
            ".",
            "--",
            "rayscore",
            "run",
            "spec.yaml",
        ],
        cwd=workdir,
        env={**head.env, "RAY_AUTH_MODE": "token"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"run directory: {out}" in proc.stdout
    assert (out / "metrics.json").exists()
    print(f"ray job submit of the engine job: {time.monotonic() - started:.0f} s")


def test_a_spec_the_cluster_refuses_fails_the_job_with_its_message_in_the_streamed_logs(
    tmp_path, head
):
    spec = write_job(tmp_path / "job", UNIQUENESS_SPEC, name="bad", out=tmp_path / "run")
    spec.write_text(spec.read_text().replace("in.parquet", "missing.parquet"))
    proc = rayscore("submit", "spec.yaml", "--address", head.address, cwd=spec.parent, env=head.env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"rayscore: input.path: '.*missing.parquet' does not exist", proc.stdout)
    assert re.search(r"raysubmit_\w+: FAILED", proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr


def test_no_wait_prints_the_submission_id_and_logs_follow_reattaches(tmp_path, head):
    spec = write_job(tmp_path / "job", QUICK_SPEC, out=tmp_path / "run")
    started = time.monotonic()
    proc = rayscore(
        "submit", "spec.yaml", "--no-wait", "--address", head.address, cwd=spec.parent, env=head.env
    )
    assert proc.returncode == 0, proc.stderr
    submission_id = proc.stdout.strip()
    assert SUBMISSION_ID.fullmatch(submission_id), proc.stdout
    assert time.monotonic() - started < 60  # it did not wait for the job
    follow = rayscore(
        "logs", submission_id, "--follow", "--address", head.address, cwd=tmp_path, env=head.env
    )
    assert follow.returncode == 0, follow.stdout + follow.stderr
    assert "run directory:" in follow.stdout and "mean x [quick]: 1.0" in follow.stdout
    assert f"{submission_id}: SUCCEEDED" in follow.stderr


def test_ctrl_c_leaves_the_job_running_and_stop_ends_it(tmp_path, head):
    spec = write_job(tmp_path / "job", SLEEPING_SPEC, out=tmp_path / "run")
    submit = Streamed(
        [RAYSCORE, "submit", "spec.yaml", "--address", head.address], spec.parent, head.env
    )
    submission_id = submit.wait_for(r"raysubmit_\w+", "stderr", timeout=120).group()
    submit.wait_for("Running entrypoint", "stdout", timeout=120)
    submit.process.send_signal(signal.SIGINT)
    assert submit.finish(timeout=60) == 130
    stderr = submit.text("stderr")
    assert "keeps running" in stderr and f"rayscore stop {submission_id}" in stderr, stderr
    assert "Traceback" not in stderr

    args = ("--address", head.address)
    status = rayscore("status", submission_id, *args, cwd=tmp_path, env=head.env)
    assert status.stdout == "RUNNING\n", status.stdout + status.stderr
    listing = rayscore("list", *args, cwd=tmp_path, env=head.env)
    row = next(line for line in listing.stdout.splitlines() if submission_id in line)
    assert row.split()[1:3] == ["RUNNING", "sleeper"]
    follower = Streamed([RAYSCORE, "logs", submission_id, "--follow", *args], tmp_path, head.env)
    stop = rayscore("stop", submission_id, *args, cwd=tmp_path, env=head.env)
    assert (stop.returncode, stop.stdout) == (0, f"{submission_id}: STOPPED\n"), stop.stderr
    assert follower.finish(timeout=60) == 1  # a stopped job is not a success
    assert f"{submission_id}: STOPPED" in follower.text("stderr")

    # --wait SECONDS bounds the wait; the job goes on.
    bounded = rayscore("submit", "spec.yaml", "--wait", "3", *args, cwd=spec.parent, env=head.env)
    assert bounded.returncode == 1, bounded.stdout + bounded.stderr
    assert re.search(r"still (PENDING|RUNNING) after 3 s; it keeps running", bounded.stderr)
    second = SUBMISSION_ID.search(bounded.stderr).group()  # type: ignore[union-attr]
    stop = rayscore("stop", second, *args, cwd=tmp_path, env=head.env)
    assert stop.stdout == f"{second}: STOPPED\n", stop.stdout + stop.stderr


def test_a_job_whose_python_lacks_a_dependency_says_so_in_one_line(tmp_path, head):
    """Submitted from a checkout to a cluster whose PATH leads to a bare Python: the job's
    command falls back to `python -m jobs.cli`, whose guard names what is missing."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    workdir = tmp_path / "checkout"
    for package in ("jobs", "pipeline", "scorers"):
        shutil.copytree(
            ROOT / package, workdir / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    write_job(workdir, UNIQUENESS_SPEC, name="bare", out=tmp_path / "run")
    (workdir / "env.yaml").write_text(f"env_vars: {{PATH: '{bare}/bin:/usr/bin:/bin'}}\n")
    proc = rayscore(
        "submit",
        "spec.yaml",
        "--runtime-env",
        "env.yaml",
        "--address",
        head.address,
        cwd=workdir,
        env=head.env,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "lacks" in line]
    assert len(lines) == 1, proc.stdout
    assert lines[0].startswith(f"rayscore: the job's Python ({bare}/bin/python) lacks")
    assert "'pyarrow'" in lines[0] and "pip install" in lines[0] and "--pip" in lines[0]
    assert "Traceback" not in proc.stdout


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"HOME": "EMPTY"}, "requires a token and none was found"),
        ({"HOME": "EMPTY", "RAY_AUTH_MODE": "token"}, "requires a token and none was found"),
        ({"RAY_AUTH_TOKEN": "not-the-token"}, "refused the token from RAY_AUTH_TOKEN"),
    ],
    ids=["no-token", "no-token-mode-token", "wrong-token"],
)
@pytest.mark.parametrize("command", ["list", "submit"])
def test_an_auth_failure_is_one_line_naming_what_to_do(tmp_path, head, env, says, command):
    spec = write_job(tmp_path / "job", UNIQUENESS_SPEC, name="auth", out=tmp_path / "run")
    empty = tmp_path / "empty-home"
    empty.mkdir()
    client_env = {**head.env, **{k: str(empty) if v == "EMPTY" else v for k, v in env.items()}}
    args = ["list"] if command == "list" else ["submit", "spec.yaml", "--no-wait"]
    proc = rayscore(*args, "--address", head.address, cwd=spec.parent, env=client_env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"rayscore: the Ray cluster at {head.address} {says}")
    assert "ray get-auth-token" in proc.stderr


def test_a_spec_that_does_not_validate_is_refused_before_anything_is_submitted(tmp_path):
    spec = write_job(tmp_path / "job", UNIQUENESS_SPEC, name="typo", out=tmp_path / "run")
    spec.write_text(spec.read_text().replace("id_column", "id_colum"))
    proc = rayscore(
        "submit",
        "spec.yaml",
        "--address",
        "http://127.0.0.1:9",
        cwd=spec.parent,
        env=dict(os.environ),
    )
    assert proc.returncode == 2
    assert "id_colum" in proc.stderr and "Traceback" not in proc.stderr
