"""A model folder's own longest context, read from its config.json as vLLM derives it (the
smallest of the length keys, model_max_length first, times a RoPE scaling factor that does
not already count), without importing vLLM or torch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# vLLM's keys for a model's maximum length, in its order (config/model_arch_config_convertor).
LENGTH_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "model_max_length",
    "max_target_positions",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)
# RoPE types whose max_position_embeddings is already the scaled length.
SCALED_ALREADY = {"su", "longrope", "llama3", "yarn", "deepseek_yarn", "deepseek_llama_scaling"}


@dataclass(frozen=True)
class ModelContext:
    tokens: int
    source: str  # where the number comes from, for messages


def model_context(folder: Path) -> ModelContext | None:
    """The folder's model's own maximum length, or None when its config does not say."""
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    lengths = {k: text[k] for k in LENGTH_KEYS if _is_number(text.get(k))}
    if not lengths:
        return None
    # like vLLM: the smallest length, unless the config names a model_max_length
    key = min(lengths, key=lengths.__getitem__)
    key = "model_max_length" if "model_max_length" in lengths else key
    tokens, source = float(lengths[key]), f"{key}={lengths[key]:g} in {path}"
    factor = _rope_factor(text)
    if factor != 1.0:
        tokens, source = tokens * factor, f"{source}, times its RoPE scaling factor {factor:g}"
    tokenizer_limit = _tokenizer_limit(folder)
    if tokenizer_limit is not None and tokenizer_limit < tokens:
        tokens, source = tokenizer_limit, f"model_max_length={tokenizer_limit:g} in its tokenizer"
    return ModelContext(int(tokens), source)


def _rope_factor(config: dict[str, Any]) -> float:
    if "gemma3" in str(config.get("model_type", "")):
        return 1.0  # its max_position_embeddings is the scaled length already
    rope = config.get("rope_parameters") or config.get("rope_scaling")
    if not isinstance(rope, dict):
        return 1.0
    # one set of parameters, or one per layer type (full and sliding attention)
    sets = [rope] if "rope_type" in rope or "type" in rope else list(rope.values())
    for parameters in sets:
        if not isinstance(parameters, dict):
            continue
        rope_type = parameters.get("rope_type", parameters.get("type"))
        if rope_type not in SCALED_ALREADY and _is_number(parameters.get("factor")):
            return float(parameters["factor"])
    return 1.0


def _tokenizer_limit(folder: Path) -> float | None:
    try:
        limit = json.loads((folder / "tokenizer_config.json").read_text()).get("model_max_length")
    except (OSError, ValueError, AttributeError):
        return None
    return float(limit) if _is_number(limit) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
