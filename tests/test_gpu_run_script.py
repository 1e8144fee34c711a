"""bench/gpu_run.sh, run whole with make, the venv's Python and nvidia-smi faked by scripts
that record how they were called: one command installs the GPU build, runs the four GPU
benchmarks with the judge settings bench/workload.py reads, and collects their JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "bench/gpu_run.sh"
FAKE_PYTHON = """#!/usr/bin/env bash
echo "python $* | $RAYSCORE_BENCH_MODEL | $RAYSCORE_BENCH_NUM_GPUS" >> "$CALLS"
if [ "$2" = pip ]; then echo "vllm 0.32.0"; exit 0; fi
echo "{\\"bench\\": \\"$2\\", \\"engine_kwargs\\": $RAYSCORE_BENCH_ENGINE_KWARGS}"
"""
RECORDER = '#!/usr/bin/env bash\necho "$(basename "$0") $*" >> "$CALLS"\n'


def fake(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def run_script(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    tools, venv = tmp_path / "tools", tmp_path / "venv"
    for tool in ("make", "nvidia-smi"):
        fake(tools / tool, RECORDER)
    fake(venv / "bin" / "pip", RECORDER)
    fake(venv / "bin" / "python", FAKE_PYTHON)
    environ = {
        "PATH": f"{tools}:{os.environ['PATH']}",
        "VENV": str(venv),
        "OUT": str(tmp_path / "out"),
        "CALLS": str(tmp_path / "calls.txt"),
        **env,
    }
    return subprocess.run(["bash", str(SCRIPT)], env=environ, capture_output=True, text=True)


def test_one_command_installs_the_gpu_build_and_runs_the_gpu_benchmarks(tmp_path):
    done = run_script(tmp_path, JUDGE_MODEL="Qwen/Qwen2.5-7B-Instruct", PEER_SAMPLES="7")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert calls[0] == f"make install ENGINE=gpu VENV={tmp_path / 'venv'}"
    assert calls[1] == "pip install --quiet -e .[bench]"
    benches = [c.split(" | ")[0].split()[2] for c in calls if c.startswith("python -m bench.")]
    assert benches == [
        "bench.judge_efficiency",
        "bench.vs_autochecklist",
        "bench.vs_ray_data_llm",
        "bench.serve_latency",
    ]
    assert "python -m bench.vs_autochecklist --samples 7 | Qwen/Qwen2.5-7B-Instruct | 1" in calls
    results = [
        json.loads(line)
        for line in (tmp_path / "out/results.jsonl").read_text().split("\n")
        if line
    ]
    assert sorted(r["bench"] for r in results) == sorted(benches)
    assert all(r["engine_kwargs"]["dtype"] == "bfloat16" for r in results)
    assert "model: Qwen/Qwen2.5-7B-Instruct" in (tmp_path / "out/machine.txt").read_text()


def test_without_a_judge_model_it_stops_before_installing_anything(tmp_path):
    done = run_script(tmp_path)
    assert done.returncode != 0
    assert "set JUDGE_MODEL to a model folder or hub id" in done.stderr
    assert not (tmp_path / "calls.txt").exists()
