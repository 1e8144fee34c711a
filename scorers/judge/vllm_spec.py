"""`backend: vllm`: an engine inside each judge actor, with vllm.LLM's own settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from scorers.judge.spec import DEFAULT_BACKEND, JudgeSpec

if TYPE_CHECKING:
    from scorers.judge.vllm_judge import VllmJudge

# engine_kwargs that split one engine over several GPUs of its actor's node.
PARALLEL_KWARGS = ("tensor_parallel_size", "pipeline_parallel_size")


class VllmJudgeSpec(JudgeSpec):
    backend: Literal["vllm"] = Field(
        default=DEFAULT_BACKEND, description="vllm: an engine inside each judge actor."
    )
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Passed to vllm.LLM as is (dtype, max_model_len, enforce_eager, ...). Unset keys "
            "take defaults by the vLLM build: on the CPU build dtype float32, enforce_eager "
            "true, block_size 32; on a GPU build vLLM's own (dtype auto, CUDA graphs, "
            "gpu_memory_utilization)."
        ),
    )
    prefix_padding: bool = Field(
        default=False,
        description=(
            "Pad the part of a sample's prompts that all its questions share with spaces to a "
            "whole number of KV blocks (engine_kwargs.block_size), so the prefix cache covers "
            "all of it. Fewer prompt tokens computed; confidences move slightly, since the "
            "model reads the spaces (see BENCHMARKS.md)."
        ),
    )

    @field_validator("engine_kwargs")
    @classmethod
    def _check_parallel(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in PARALLEL_KWARGS:
            size = value.get(name, 1)
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"{name}: {size!r} must be a whole number of GPUs, 1 or more")
        return value

    @property
    def engine_gpus(self) -> int:
        kwargs = self.engine_kwargs
        return int(kwargs.get("tensor_parallel_size", 1)) * int(
            kwargs.get("pipeline_parallel_size", 1)
        )

    def build(self) -> VllmJudge:
        from scorers.judge.vllm_judge import VllmJudge

        return VllmJudge(
            self.model,
            self.engine_kwargs,
            chat_template=self.chat_template,
            prefix_padding=self.prefix_padding,
            chat_template_kwargs=self.chat_template_kwargs,
        )
