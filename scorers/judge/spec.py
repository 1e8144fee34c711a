"""How a job spec configures the judge: backend and model, engines, batch size."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from scorers.strict_model import StrictModel

# Ray's own resources, set by num_cpus / num_gpus (or not per actor at all).
RAY_BUILTIN_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
# engine_kwargs that split one engine over several GPUs of its actor's node.
PARALLEL_KWARGS = ("tensor_parallel_size", "pipeline_parallel_size")
# A Ray label selector value: `v`, `!v`, `in(a,b)` or `!in(a,b)` (Kubernetes label syntax).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?"
LABEL_SELECTOR_VALUE = re.compile(rf"!?({_LABEL}|in\({_LABEL}(, ?{_LABEL})*\))")
LABEL_KEY = re.compile(rf"([a-z0-9]([a-z0-9.-]{{0,251}}[a-z0-9])?/)?{_LABEL}")
# Placement: where the judge actors run, never what they score; omitted from dumps when unset
# so that run fingerprints of specs without them stay as they were.
PLACEMENT_FIELDS = ("resources", "node_labels")


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
    num_gpus: float = Field(
        default=0,
        ge=0,
        description=(
            "GPUs per judge actor (0 on CPU). With engine_kwargs.tensor_parallel_size (x "
            "pipeline_parallel_size) n > 1 each actor reserves max(num_gpus, n) GPUs, all on one "
            "node: the engine's workers are processes of that actor."
        ),
    )
    resources: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Custom Ray resources each judge actor reserves, e.g. {judge: 1}: its actors run "
            "only on nodes that offer them (cluster.yaml gives each GPU worker judge: 1 per GPU, "
            "the head none), and an autoscaler starts such nodes for them. CPUs and GPUs are "
            "num_cpus and num_gpus."
        ),
    )
    node_labels: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Ray label selector for the nodes judge actors may run on, e.g. {rayscore/role: "
            "judge} or {ray.io/accelerator-type: H100}; a value is 'v', '!v', 'in(a,b)' or "
            "'!in(a,b)'. Only autoscaler v2 starts nodes for a label; judge.resources works with "
            "either."
        ),
    )
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
    prefix_padding: bool = Field(
        default=False,
        description=(
            "vllm backend: pad the part of a sample's prompts that all its questions share "
            "with spaces to a whole number of KV blocks (engine_kwargs.block_size), so the "
            "prefix cache covers all of it. Fewer prompt tokens computed; confidences move "
            "slightly, since the model reads the spaces (see BENCHMARKS.md)."
        ),
    )

    @field_validator("resources")
    @classmethod
    def _check_resources(cls, value: dict[str, float]) -> dict[str, float]:
        for name, amount in value.items():
            if name in RAY_BUILTIN_RESOURCES:
                raise ValueError(
                    f"{name!r} is not a custom resource: use num_cpus / num_gpus for CPUs and GPUs"
                )
            if not name or name.startswith("node:"):
                raise ValueError(f"{name!r} is not a resource name to ask for")
            if amount <= 0:
                raise ValueError(f"{name}: {amount:g} must be more than 0")
            if amount > 1 and amount != int(amount):
                raise ValueError(f"{name}: {amount:g}: Ray takes whole numbers above 1")
        return value

    @field_validator("node_labels")
    @classmethod
    def _check_labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, selector in value.items():
            if not LABEL_KEY.fullmatch(key):
                raise ValueError(f"{key!r} is not a label key ([prefix/]name, Kubernetes syntax)")
            if not LABEL_SELECTOR_VALUE.fullmatch(selector):
                raise ValueError(
                    f"{key}: {selector!r} is not a label selector: 'v', '!v', 'in(a,b)' or "
                    "'!in(a,b)'"
                )
        return value

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
        """GPUs one engine is split over (tensor x pipeline parallel); 1 when not split."""
        if self.backend != "vllm":
            return 1
        kwargs = self.engine_kwargs
        return int(kwargs.get("tensor_parallel_size", 1)) * int(
            kwargs.get("pipeline_parallel_size", 1)
        )

    @property
    def gpus_per_actor(self) -> float:
        """What each judge actor reserves: num_gpus, or all the GPUs a split engine needs."""
        split = self.engine_gpus
        return max(self.num_gpus, float(split)) if split > 1 else self.num_gpus

    def actor_options(self) -> dict[str, Any]:
        """What each judge actor (or Serve replica) reserves and where it may run, as Ray's
        options: num_cpus, num_gpus, and resources / label_selector when set."""
        options: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.gpus_per_actor}
        if self.resources:
            options["resources"] = dict(self.resources)
        if self.node_labels:
            options["label_selector"] = dict(self.node_labels)
        return options

    @model_serializer(mode="wrap")
    def _omit_unset_placement(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        for name in PLACEMENT_FIELDS:
            if not dumped.get(name, True):
                del dumped[name]
        return dumped

    @model_validator(mode="after")
    def _check_backend(self) -> JudgeSpec:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend 'openai' needs base_url")
        if self.backend == "vllm" and self.base_url:
            raise ValueError("base_url is for backend 'openai'; the vllm backend runs in-process")
        if self.backend == "openai" and self.prefix_padding:
            raise ValueError("prefix_padding is for backend 'vllm'; the openai backend sends text")
        return self
