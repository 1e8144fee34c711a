"""The cheapest changes that matter, worked out from a judge's sampled token ids: rows that do
not fit the context first (they are not scored at all), then engine settings that compute
fewer prompt tokens, the larger saving first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.forecast.judge_tokens import BLOCK_SIZES, Tokenization
from pipeline.forecast.sample_tokens import SampleTokens

WORTH = 1.1  # a change that computes fewer than 1.1x fewer prompt tokens is not worth naming


@dataclass(frozen=True)
class Change:
    judge: str
    setting: str  # the spec key it changes
    fewer_tokens: float | None  # computed prompt tokens now / with the change (None: scoring)
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__}


def context_change(judge: str, tokenization: Tokenization, sample: SampleTokens) -> list[Change]:
    over = sample.longest_prompt_per_row >= tokenization.max_model_len
    if not over.any():
        return []
    longest = int(sample.longest_prompt_per_row.max())
    return [
        Change(
            judge,
            "engine_kwargs.max_model_len",
            None,
            f"{int(over.sum())} of {over.size} sampled rows have a prompt of max_model_len "
            f"({tokenization.max_model_len}) tokens or more and would not be scored: set "
            f"engine_kwargs.max_model_len to {longest + 1} (if the KV cache holds it) or "
            "truncate the scorer's target text",
        )
    ]


def cache_changes(
    judge: str,
    device: str,
    tokenization: Tokenization,
    sample: SampleTokens,
    tokens_with: Callable[[Tokenization], SampleTokens],
) -> list[Change]:
    """Other block sizes, and prefix padding where it is off, each against the setting now."""
    now = sample.computed_tokens(tokenization.block_size)
    changes = []
    other_sizes = [s for s in BLOCK_SIZES[device] if s != tokenization.block_size]
    if other_sizes:
        ratio, size = max((now / max(sample.computed_tokens(s), 1), s) for s in other_sizes)
        changes.append(
            Change(
                judge,
                "engine_kwargs.block_size",
                ratio,
                f"engine_kwargs.block_size {size} would compute {ratio:.2g}x fewer prompt tokens "
                f"than {tokenization.block_size}",
            )
        )
    if not tokenization.prefix_padding:
        padded = tokens_with(tokenization.padded(tokenization.block_size, True))
        ratio = now / max(padded.computed_tokens(tokenization.block_size), 1)
        changes.append(
            Change(
                judge,
                "prefix_padding",
                ratio,
                f"prefix_padding: true would compute {ratio:.2g}x fewer prompt tokens (the judge "
                "reads the padding: confidences move slightly, see BENCHMARKS.md)",
            )
        )
    worth = [c for c in changes if c.fewer_tokens is not None and c.fewer_tokens >= WORTH]
    return sorted(worth, key=lambda c: -(c.fewer_tokens or 0.0))
