"""How a job spec configures a judge: one class per backend (`backend: vllm`, the default, or
`openai`), each with its own settings and its own `build()`; what every judge has (model,
actors, placement, batch size, cost) is JudgeSpec's.

A spec's `judge` / `judges` entries are read by `parse_judge` (AnyJudgeSpec), which picks the
class by `backend`; `JudgeSpec(...)` called directly does the same. A setting of another
backend is ignored, as it was before the split, or refused where it always was
("prefix_padding is for backend 'vllm'").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import (
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails

from scorers.judge.label_mass import DEFAULT_MIN_LABEL_MASS
from scorers.strict_model import StrictModel

if TYPE_CHECKING:
    from scorers.judge.result import LogprobJudge

# Ray's own resources, set by num_cpus / num_gpus (or not per actor at all).
RAY_BUILTIN_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
# A Ray label selector value: `v`, `!v`, `in(a,b)` or `!in(a,b)` (Kubernetes label syntax).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?"
LABEL_SELECTOR_VALUE = re.compile(rf"!?({_LABEL}|in\({_LABEL}(, ?{_LABEL})*\))")
LABEL_KEY = re.compile(rf"([a-z0-9]([a-z0-9.-]{{0,251}}[a-z0-9])?/)?{_LABEL}")
# Placement: where the judge actors run, never what they score; omitted from dumps when unset
# so that run fingerprints of specs without them stay as they were.
PLACEMENT_FIELDS = ("resources", "node_labels")
DEFAULT_BACKEND: Final = "vllm"
# (backend, setting of another backend) -> why it is refused there, not just ignored
REFUSED_ELSEWHERE = {
    ("openai", "prefix_padding"): "'vllm'; the openai backend sends text",
    ("vllm", "base_url"): "'openai'; the vllm backend runs in-process",
}


class JudgeSpec(StrictModel):
    backend: Literal["vllm", "openai"] = Field(
        default=DEFAULT_BACKEND,
        description="vllm: an engine inside each judge actor; openai: an OpenAI-compatible server.",
    )
    model: str = Field(
        description="vllm: local model folder or Hugging Face model id; openai: the served name."
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
    chat_template_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Extra variables for the chat template, e.g. {enable_thinking: false} for a model "
            "whose template opens a thinking block; vllm: passed to the tokenizer's "
            "apply_chat_template, openai: sent as the request's chat_template_kwargs (vLLM's "
            "server takes them)."
        ),
    )
    min_label_mass: float = Field(
        default=DEFAULT_MIN_LABEL_MASS,
        ge=0,
        le=1,
        description=(
            "The least probability the judge must give the label tokens together (every "
            "spelling of every label: P(yes) + P(no)) at the answer token; an answer read from "
            "one token below it is unscored: 'the judge did not answer with a label (label mass "
            "0.03)'. Each item's label_mass is in the output. 0 turns the check off; answers "
            "read from text without log-probs are not checked."
        ),
    )

    def __new__(cls, *args: Any, **data: Any) -> Any:
        """`JudgeSpec(backend=..., ...)` is the backend's class, as a spec's entry is."""
        if cls is JudgeSpec:
            cls = backend_classes().get(str(data.get("backend", DEFAULT_BACKEND)), cls)
        return super().__new__(cls)

    @model_validator(mode="before")
    @classmethod
    def _other_backends_settings(cls, data: Any) -> Any:
        """A setting of another backend: refused where it always was, else dropped as before
        (it was accepted and ignored, so existing specs stay valid)."""
        if not isinstance(data, dict) or cls is JudgeSpec:
            return data
        backend = str(data.get("backend", DEFAULT_BACKEND))
        kept = {}
        for name, value in data.items():
            if name in cls.model_fields or not _other_backends_have(cls, name):
                kept[name] = value
            elif value and (backend, name) in REFUSED_ELSEWHERE:
                raise ValueError(f"{name} is for backend {REFUSED_ELSEWHERE[backend, name]}")
        return kept

    def build(self) -> LogprobJudge:
        """The judge itself; heavy imports (vllm, openai) happen here, where it starts."""
        raise NotImplementedError(f"backend {self.backend!r} has no build()")

    @model_validator(mode="after")
    def _kwargs_need_a_template(self) -> JudgeSpec:
        if self.chat_template_kwargs and self.chat_template == "never":
            raise ValueError(
                "chat_template_kwargs are the chat template's variables; chat_template is 'never'"
            )
        return self

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

    @property
    def engine_gpus(self) -> int:
        """GPUs one engine is split over (tensor x pipeline parallel); 1 when not split."""
        return 1

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

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        if cls is not JudgeSpec:
            return handler(core_schema)
        return {"oneOf": [handler(c.__pydantic_core_schema__) for c in backend_classes().values()]}


def backend_classes() -> dict[str, type[JudgeSpec]]:
    """Backend name -> its spec class."""
    from scorers.judge.openai_spec import OpenAIJudgeSpec
    from scorers.judge.vllm_spec import VllmJudgeSpec

    return {"vllm": VllmJudgeSpec, "openai": OpenAIJudgeSpec}


def parse_judge(raw: Any) -> Any:
    """A spec's judge entry validated by its backend's class (pydantic BeforeValidator)."""
    if isinstance(raw, JudgeSpec) or not isinstance(raw, dict):
        return raw
    classes = backend_classes()
    backend = raw.get("backend", DEFAULT_BACKEND)
    if backend not in classes:
        raise _backend_error(backend, classes)
    return classes[backend].model_validate(raw)


def _other_backends_have(own: type[JudgeSpec], name: str) -> bool:
    return any(name in c.model_fields for c in backend_classes().values() if c is not own)


def _backend_error(backend: Any, classes: dict[str, type[JudgeSpec]]) -> ValidationError:
    expected = " or ".join(repr(name) for name in classes)
    error: InitErrorDetails = {
        "type": "literal_error",
        "loc": ("backend",),
        "input": backend,
        "ctx": {"expected": expected},
    }
    return ValidationError.from_exception_data("JudgeSpec", [error])


AnyJudgeSpec = Annotated[SerializeAsAny[JudgeSpec], BeforeValidator(parse_judge)]
