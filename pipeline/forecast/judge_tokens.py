"""A judge's prompts as its engine's token ids, without an engine: the model's own tokenizer
(transformers, from the model folder or hub id) and the engine settings that change the ids
(chat template, prefix padding to the KV block size), as VllmJudge applies them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scorers.judge.device_defaults import VllmBuild, engine_defaults
from scorers.judge.generation import Generated, GenerationRequest
from scorers.judge.labels import LabelSet
from scorers.judge.model_context import model_context
from scorers.judge.prompt_tokens import encode_prompts
from scorers.judge.result import JudgeResult
from scorers.judge.vllm_spec import VllmJudgeSpec

# The KV block size of an engine whose engine_kwargs and device defaults set none: vLLM's
# GPU backends' (its CPU backend's 128 is overridden by the CPU defaults). The CPU backend
# takes multiples of 32 only.
VLLM_BLOCK_SIZE = 16
BLOCK_SIZES = {"cpu": (32, 64, 128), "gpu": (16, 32, 64, 128)}
NOT_ASKED = "not asked: rayscore plan counts tokens only"


@dataclass(frozen=True)
class Tokenization:
    """How a judge's engine turns prompts into token ids (VllmJudge.encode)."""

    tokenizer: Any
    use_chat_template: bool
    block_size: int
    prefix_padding: bool
    pad_id: int | None
    max_model_len: int
    template_kwargs: Mapping[str, Any] = field(default_factory=dict)  # chat_template_kwargs

    def padded(self, block_size: int, prefix_padding: bool) -> Tokenization:
        return replace(self, block_size=block_size, prefix_padding=prefix_padding)

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        pad_to = self.block_size if self.prefix_padding else 0
        return encode_prompts(
            self.tokenizer,
            prompts,
            self.use_chat_template,
            pad_to,
            self.pad_id,
            self.template_kwargs,
        )


def device_of(judge: VllmJudgeSpec) -> VllmBuild:
    """The vLLM build the judge's actors run: a GPU one where they hold GPUs."""
    return "gpu" if judge.gpus_per_actor > 0 else "cpu"


def block_size_of(judge: VllmJudgeSpec) -> int:
    """The engine's KV block size: the spec's, else its device's default (device_defaults)."""
    defaults = engine_defaults(device_of(judge)).engine_kwargs
    return int(judge.engine_kwargs.get("block_size") or defaults.get("block_size", VLLM_BLOCK_SIZE))


def tokenization_of(judge: VllmJudgeSpec) -> Tokenization:
    """The judge's tokenizer and engine settings, read from its model without starting it."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(judge.model)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"judge model {judge.model!r}: its tokenizer cannot be read ({exc})"
        ) from exc
    kwargs = judge.engine_kwargs
    return Tokenization(
        tokenizer=tokenizer,
        use_chat_template=judge.chat_template == "auto" and bool(tokenizer.chat_template),
        block_size=block_size_of(judge),
        prefix_padding=judge.prefix_padding,
        pad_id=tokenizer.encode(" ", add_special_tokens=False)[-1],
        max_model_len=int(kwargs.get("max_model_len") or _context_of(judge.model)),
        template_kwargs=judge.chat_template_kwargs,
    )


def _context_of(model: str) -> int:
    """The model's own context length, as vLLM reads it when max_model_len is not set."""
    context = model_context(Path(model))
    if context is None:
        raise ValueError(
            f"judge model {model!r}: its config gives no context length; set "
            "engine_kwargs.max_model_len"
        )
    return context.tokens


class TokenizingJudge:
    """Stands in for the engine in the judge stage's own request loop (judge_actor.judge_all):
    encodes every request as the engine's judge would, keeps the ids in the order the engine
    would get them, and answers nothing (each result carries its prompt's token count)."""

    def __init__(self, tokenization: Tokenization) -> None:
        self.tokenization = tokenization
        self.requests: list[list[int]] = []

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        return [JudgeResult.failed(NOT_ASKED, n) for n in self._encode(prompts)]

    def generate(
        self, requests: Sequence[GenerationRequest], values: tuple[str, ...]
    ) -> list[Generated]:
        return [Generated.failed(NOT_ASKED, n) for n in self._encode([r.prompt for r in requests])]

    def _encode(self, prompts: Sequence[str]) -> list[int]:
        ids = self.tokenization.encode(prompts)
        self.requests.extend(ids)
        return [len(each) for each in ids]
