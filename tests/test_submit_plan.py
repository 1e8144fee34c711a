"""What `rayscore submit` sends (command, runtime env, metadata) and how it finds the address
and the token: no cluster needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.preflight import DEPENDENCIES, missing_message
from jobs.submit import (
    auth_headers,
    cluster_address,
    job_entrypoint,
    plan_submission,
    relative_output_warning,
)
from pipeline.spec_loader import load_spec

SPEC = """
name: planned
input: {path: data/in.parquet, id_column: id}
output: {path: /shared/runs/planned}
definition:
  scorers:
    - {type: uniqueness, key: uniq, column: text}
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "specs" / "job.yaml"
    path.parent.mkdir()
    path.write_text(SPEC)
    return path


def test_the_job_runs_the_installed_rayscore_and_falls_back_to_the_uploaded_code(
    spec_file, tmp_path
):
    plan = plan_submission(load_spec(spec_file), str(spec_file), str(tmp_path), ["--overwrite"])
    assert plan.entrypoint == (
        "if command -v rayscore >/dev/null 2>&1; then exec rayscore run specs/job.yaml "
        "--overwrite; else exec python -m jobs.cli run specs/job.yaml --overwrite; fi"
    )
    assert plan.runtime_env["working_dir"] == str(tmp_path.resolve())
    assert {".venv/", ".venv-gpu/"} <= set(plan.runtime_env["excludes"])
    assert plan.metadata == {"rayscore_job": "planned", "rayscore_spec": "specs/job.yaml"}


def test_the_entrypoint_is_a_valid_shell_command():
    command = job_entrypoint("my spec.yaml", ["--restart"], own_python=False)
    assert subprocess.run(["sh", "-n", "-c", command]).returncode == 0
    assert "'my spec.yaml'" in command


def test_runtime_env_file_and_pip_are_merged_and_the_job_then_runs_its_own_python(
    spec_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "2")
    (tmp_path / "env.json").write_text(
        json.dumps(
            {"pip": ["datasketch"], "env_vars": {"A": "1"}, "excludes": ["big/"], "config": {}}
        )
    )
    plan = plan_submission(
        load_spec(spec_file),
        str(spec_file),
        str(tmp_path),
        runtime_env_file=str(tmp_path / "env.json"),
        pip=["pyarrow>=15", "polars"],
    )
    env = plan.runtime_env
    assert env["pip"] == ["datasketch", "pyarrow>=15", "polars"]
    assert env["env_vars"] == {"VLLM_CPU_KVCACHE_SPACE": "2", "A": "1"}
    assert env["excludes"][-1] == "big/" and ".git/" in env["excludes"]
    assert env["config"] == {}
    # Ray's pip virtualenv is the job's `python`; the rayscore script would not see the packages.
    assert plan.entrypoint == "python -m jobs.cli run specs/job.yaml"


def test_pip_alone_gives_the_job_its_own_python(spec_file, tmp_path):
    plan = plan_submission(load_spec(spec_file), str(spec_file), str(tmp_path), pip=["x"])
    assert plan.runtime_env["pip"] == ["x"] and plan.entrypoint.startswith("python -m jobs.cli")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("working_dir: /elsewhere\n", "working_dir is set by rayscore"),
        ("- pip\n", "expected a mapping"),
        ("pip: requirements.txt\n", "requirements file"),
    ],
)
def test_a_runtime_env_file_rayscore_cannot_use_is_refused(spec_file, tmp_path, content, message):
    (tmp_path / "env.yaml").write_text(content)
    with pytest.raises(ValueError, match=message):
        plan_submission(
            load_spec(spec_file),
            str(spec_file),
            str(tmp_path),
            runtime_env_file=str(tmp_path / "env.yaml"),
            pip=["x"],
        )


def test_a_spec_outside_the_working_dir_is_refused(spec_file, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(ValueError, match="outside the working directory"):
        plan_submission(load_spec(spec_file), str(spec_file), str(elsewhere))


def test_a_relative_output_path_is_warned_about(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(SPEC.replace("/shared/runs/planned", "runs/planned"))
    assert "relative" in (relative_output_warning(load_spec(path)) or "")
    path.write_text(SPEC.replace("/shared/runs/planned", "s3://bucket/runs/planned"))
    assert relative_output_warning(load_spec(path)) is None


def test_the_address_is_the_option_then_ray_api_server_address_then_ray_address(monkeypatch):
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cluster_address(None) is None
    monkeypatch.setenv("RAY_ADDRESS", "http://b:8265")
    assert cluster_address(None) == "http://b:8265"
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "http://a:8265")
    assert cluster_address(None) == "http://a:8265"
    assert cluster_address("http://c:8265") == "http://c:8265"


def test_the_token_is_found_as_ray_finds_it_without_ray_auth_mode(tmp_path, monkeypatch):
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert auth_headers() == {}
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-file\n")
    assert auth_headers() == {"Authorization": "Bearer from-file"}
    (tmp_path / "other").write_text("from-path")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "other"))
    assert auth_headers() == {"Authorization": "Bearer from-path"}
    monkeypatch.setenv("RAY_AUTH_TOKEN", "from-env")
    assert auth_headers() == {"Authorization": "Bearer from-env"}
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert auth_headers() == {}


def test_the_dependency_guard_names_what_is_missing_and_how_to_install_it(monkeypatch):
    assert set(DEPENDENCIES) >= {"pyarrow", "ray", "pydantic", "yaml"}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")
    line = missing_message(["pyarrow>=15", "pyyaml>=6"])
    assert line == (
        f"rayscore: the job's Python ({sys.executable}) lacks 'pyarrow', 'pyyaml'; install "
        "rayscore's dependencies on the cluster (pip install 'rayscore[gpu]', as cluster.yaml "
        "does) or pass them to rayscore submit --pip"
    )
    assert "\n" not in line


def test_every_declared_dependency_is_checked():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    block = text.split("dependencies = [", 1)[1].split("]\n", 1)[0]
    lines = (line.split("#")[0].strip().strip('",') for line in block.splitlines())
    declared = {line for line in lines if line}
    assert declared == set(DEPENDENCIES.values())


def test_an_explicit_address_wins_over_the_environment(monkeypatch):
    """Ray's SDK lets RAY_API_SERVER_ADDRESS / RAY_ADDRESS override an explicit address."""
    from jobs.submit import Cluster, ClusterError

    monkeypatch.setenv("RAY_ADDRESS", "http://127.0.0.1:9")
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "http://127.0.0.1:9")
    with pytest.raises(ClusterError, match=r"cannot reach the Ray cluster at http://127.0.0.1:1:"):
        Cluster("http://127.0.0.1:1")
    assert os.environ["RAY_ADDRESS"] == "http://127.0.0.1:9"  # put back


def test_output_replaces_the_specs_output_path_before_the_spec_is_checked(spec_file):
    assert load_spec(spec_file, output="/shared/runs/night-07").output.path == (
        "/shared/runs/night-07"
    )
    assert load_spec(spec_file).output.path == "/shared/runs/planned"


def test_submit_passes_from_and_output_on_to_the_jobs_own_run(spec_file, tmp_path, monkeypatch):
    import jobs.cli

    submitted = []

    class FakeCluster:  # records the submission instead of reaching a cluster
        address = "http://127.0.0.1:8265"

        def __init__(self, address: str | None) -> None:
            pass

        def submit(self, submission: object) -> str:
            submitted.append(submission)
            return "raysubmit_1"

    monkeypatch.setattr(jobs.cli, "Cluster", FakeCluster)
    monkeypatch.chdir(tmp_path)
    nightly = ["--from", "/shared/runs/night-06", "--output", "/shared/runs/night-07"]
    code = jobs.cli.main(
        ["submit", str(spec_file), "--no-wait", "--working-dir", str(tmp_path), *nightly]
    )
    assert code == 0
    assert submitted[0].entrypoint.endswith(
        "python -m jobs.cli run specs/job.yaml --from /shared/runs/night-06 "
        "--output /shared/runs/night-07; fi"
    )
