"""A judge prompt as the token ids the model sees: in the chat template when there is one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def encode_prompts(
    tokenizer: Any, prompts: Sequence[str], use_chat_template: bool
) -> list[list[int]]:
    """Each prompt as one user turn with the assistant's turn opened, or as plain text."""
    if not use_chat_template:
        return [tokenizer.encode(p) for p in prompts]
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    return [tokenizer.encode(t, add_special_tokens=False) for t in texts]
