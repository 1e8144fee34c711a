"""How a job spec configures the judge: backend and model, engines, batch size."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from scorers.strict_model import StrictModel


class JudgeSpec(StrictModel):
    backend: Literal["vllm", "openai"] = Field(
        default="vllm",
        description="vllm: an engine inside each judge actor; openai: an OpenAI-compatible server.",
    )
    model: str = Field(
        description="vllm: local model folder or Hugging Face model id; openai: the served name."
    )
    base_url: str | None = Field(
        default=None, description="openai backend: the server's base URL, e.g. http://host/v1."
    )
    api_key_env: str | None = Field(
        default=None,
        description="openai backend: environment variable holding the API key (never logged).",
    )
    tokenizer: str | None = Field(
        default=None,
        description=(
            "openai backend: tokenizer folder/id for the label token ids; 'server' asks the "
            "server's /tokenize. Without token ids only the top-20 log-probs can be read."
        ),
    )
    max_concurrency: int = Field(
        default=8, ge=1, description="openai backend: requests in flight per judge actor."
    )
    max_retries: int = Field(
        default=5, ge=0, description="openai backend: retries on 429, 5xx and timeouts."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="openai backend: per request.")
    engine_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Passed to vllm.LLM as is (dtype, max_model_len, enforce_eager, ...).",
    )
    concurrency: int = Field(
        default=1, ge=1, description="Judge actors, each holding one engine. More = more memory."
    )
    num_gpus: float = Field(default=0, ge=0, description="GPUs per judge actor (0 on CPU).")
    num_cpus: float = Field(
        default=1, gt=0, description="CPUs reserved per judge actor; on CPU also its threads."
    )
    batch_size: int = Field(
        default=64,
        ge=1,
        description=(
            "Samples per engine call. Large batches keep the engine busy; small ones lose "
            "less work when an actor dies."
        ),
    )
    price_per_hour: float | None = Field(
        default=None,
        ge=0,
        description="Cost of one judge actor per hour (e.g. its GPU); the manifest then gives "
        "the cost per 1,000 judgments.",
    )
    chat_template: Literal["auto", "never"] = Field(
        default="auto",
        description="'auto' wraps prompts in the tokenizer's chat template when it has one.",
    )

    @model_validator(mode="after")
    def _check_backend(self) -> JudgeSpec:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend 'openai' needs base_url")
        if self.backend == "vllm" and self.base_url:
            raise ValueError("base_url is for backend 'openai'; the vllm backend runs in-process")
        return self
