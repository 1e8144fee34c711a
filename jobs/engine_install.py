"""The checks `make install ENGINE=gpu` runs around pip (`python -m jobs.engine_install
before|after [--allow-no-gpu]`, from the repository, in the venv being installed).

before: refuse a venv that holds vLLM's CPU build or a CPU torch. pip would install the CUDA
  vLLM beside them and keep the CPU torch (the versions match), leaving a venv whose engine
  never sees a GPU.
after: torch must be a CUDA build and see a GPU. Without one (a CPU node such as the head of a
  GPU cluster) the install is kept with --allow-no-gpu (make ... REQUIRE_GPU=0).

Standard library (and stdlib-only modules of this repository) until torch itself is checked:
it runs before rayscore is installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from scorers.judge.device_defaults import CPU_DISTRIBUTION, vllm_build

VersionOf = Callable[[str], str]


class InstallRefused(Exception):
    """One line saying what is wrong with the venv and what to do."""


@dataclass(frozen=True)
class CudaReport:
    torch_version: str
    cuda: str | None  # the CUDA version torch was built for; None for a CPU build
    gpus: tuple[str, ...]  # the devices torch sees


def check_before(venv: str, version_of: VersionOf = version) -> None:
    """Refuse a venv that already has a CPU build of vLLM or torch."""
    found = []
    if vllm_build(version_of, environ={}) == "cpu":
        found.append(f"vLLM's CPU build ({_describe(version_of, 'vllm', CPU_DISTRIBUTION)})")
    torch_version = _version(version_of, "torch")
    if torch_version is not None and "+cpu" in torch_version:
        found.append(f"a CPU torch ({torch_version})")
    if found:
        raise InstallRefused(
            f"{venv} has {' and '.join(found)}: pip would keep them beside the CUDA build. "
            f"Install the GPU build into a venv of its own: make install ENGINE=gpu (it "
            f"creates .venv-gpu), or remove {venv} first."
        )


def cuda_report(torch: Any) -> CudaReport:
    gpus: tuple[str, ...] = ()
    if torch.version.cuda is not None and torch.cuda.is_available():
        gpus = tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    return CudaReport(str(torch.__version__), torch.version.cuda, gpus)


def check_after(report: CudaReport, allow_no_gpu: bool = False) -> str:
    """What the install gives; refused when torch is a CPU build, or sees no GPU unless
    that is allowed."""
    if report.cuda is None:
        raise InstallRefused(
            f"torch {report.torch_version} is a CPU build (torch.version.cuda is None): the "
            "CUDA vLLM cannot run on it. Remove the venv and run make install ENGINE=gpu again."
        )
    if report.gpus:
        return (
            f"torch {report.torch_version} (CUDA {report.cuda}) sees {len(report.gpus)} GPU(s): "
            + ", ".join(report.gpus)
        )
    why = (
        f"torch {report.torch_version} (CUDA {report.cuda}) sees no GPU: this machine has none, "
        "its NVIDIA driver is missing or older than CUDA "
        f"{report.cuda} needs (nvidia-smi says which), or CUDA_VISIBLE_DEVICES hides them"
    )
    if allow_no_gpu:
        return f"warning: {why}; kept (REQUIRE_GPU=0): judges cannot run on this node"
    raise InstallRefused(f"{why}. On a node without GPU, install with REQUIRE_GPU=0.")


def _version(version_of: VersionOf, distribution: str) -> str | None:
    try:
        return version_of(distribution)
    except PackageNotFoundError:
        return None


def _describe(version_of: VersionOf, *distributions: str) -> str:
    found = [(d, _version(version_of, d)) for d in distributions]
    return ", ".join(f"{d} {v}" for d, v in found if v is not None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.engine_install", description=__doc__)
    parser.add_argument("step", choices=["before", "after"])
    parser.add_argument("--allow-no-gpu", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.step == "before":
            check_before(sys.prefix)
            return 0
        try:
            import torch
        except ModuleNotFoundError:
            raise InstallRefused(f"{sys.prefix} has no torch: the gpu extra is missing") from None
        print(f"make install ENGINE=gpu: {check_after(cuda_report(torch), args.allow_no_gpu)}")
    except InstallRefused as refused:
        print(f"make install ENGINE=gpu: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
