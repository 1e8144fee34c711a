"""`rayscore submit` through Ray Jobs to a real Ray head started here (its own process group)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.ray
BIN = Path(sys.executable).parent
# Ray 2.60's `ray start` enables token authentication; client and head both use the token
# from ~/.ray/auth_token when RAY_AUTH_MODE=token. The head runs with this venv activated,
# as a cluster node runs with rayscore installed.
TOKEN_AUTH_ENV = {
    **{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"},
    "RAY_AUTH_MODE": "token",
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
}
SPEC = """
name: submitted
input: {{path: {data}, id_column: id}}
output: {{path: {out}}}
definition:
  scorers:
    - type: uniqueness
      key: uniq
      column: text
      metrics: [{{type: mean, field: is_unique, name: unique rate}}]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ray_head(tmp_path: Path) -> Iterator[str]:
    dashboard, gcs = free_port(), free_port()
    env = TOKEN_AUTH_ENV
    head = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            "--block",
            f"--port={gcs}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard}",
            # Own ports for every service: another local cluster (the session's) holds the
            # defaults, and a head whose agent cannot bind never accepts a job.
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            f"--ray-client-server-port={free_port()}",
            f"--node-manager-port={free_port()}",
            f"--object-manager-port={free_port()}",
            "--num-cpus=2",
            "--include-dashboard=true",
            "--disable-usage-stats",
        ],
        stdout=(tmp_path / "head.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
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
                if head.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"ray head did not start:\n{(tmp_path / 'head.log').read_text()[-3000:]}"
                    )
                time.sleep(1)
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        forget_cluster(gcs)


def forget_cluster(gcs_port: int) -> None:
    """Remove Ray's pointer to this head (ray stop would), so nothing later tries to join it."""
    pointer = Path("/tmp/ray/ray_current_cluster")
    if pointer.exists() and pointer.read_text().strip().endswith(f":{gcs_port}"):
        pointer.unlink()


def test_submit_runs_the_job_on_the_cluster_and_reports_its_state(tmp_path, ray_head):
    data = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["x", "y", "x"]}), data)
    workdir = tmp_path / "job"
    workdir.mkdir()
    (workdir / "spec.yaml").write_text(SPEC.format(data=data, out=tmp_path / "run"))
    proc = subprocess.run(
        [
            str(BIN / "rayscore"),
            "submit",
            "spec.yaml",
            "--address",
            ray_head,
            "--working-dir",
            str(workdir),
            "--wait",
            "240",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env=TOKEN_AUTH_ENV,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    submission_id = proc.stdout.split(" as ")[1].split()[0]
    assert f"{submission_id}: SUCCEEDED" in proc.stdout
    assert (tmp_path / "run" / "metrics.json").exists()
    logs = subprocess.run(
        [str(BIN / "rayscore"), "logs", submission_id, "--address", ray_head],
        env=TOKEN_AUTH_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "run directory:" in logs.stdout and "unique rate" in logs.stdout
