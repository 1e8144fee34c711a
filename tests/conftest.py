"""Shared fixtures: the small local judge model, example data, one local Ray cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")

ENGINE_KWARGS = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True}
# The untrained tiny model answers random tokens, not labels (label mass 0.01-0.13 on the demo's
# prompts): jobs it judges turn the label-mass floor off (judge.min_label_mass).
NO_LABEL_FLOOR = {"min_label_mass": 0}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jobs.demo.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-judge")


@pytest.fixture(scope="session")
def trained_judge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small model trained on the demo's checklist task, as `make model` builds it."""
    from jobs.demo.tiny_model import build_tiny_model
    from jobs.demo.train_judge import train_judge

    model = build_tiny_model(tmp_path_factory.mktemp("models") / "trained-judge")
    train_judge(model)
    return model


@pytest.fixture(scope="session")
def demo_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jobs.demo.demo_data import write_demo_data

    return write_demo_data(tmp_path_factory.mktemp("data") / "demo.parquet", n_rows=40)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """One local Ray cluster for the session; ray.shutdown stops the processes it started."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def vllm_judge(tiny_model: Path) -> object:
    from scorers.judge.vllm_judge import VllmJudge

    return VllmJudge(str(tiny_model), ENGINE_KWARGS)
