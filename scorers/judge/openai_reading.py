"""Turning one OpenAI-compatible response into a JudgeResult, in the three ways it can be read.

- token ids (vLLM): the server was asked for `logprob_token_ids` with
  `return_tokens_as_token_ids`, so every label token comes back as "token_id:<id>" with its
  log-prob, whatever its rank; the probabilities of each label's tokens are summed.
- top-k (any endpoint with log-probs): every top-k entry whose text, stripped, is one of a
  label's surface forms counts for that label. Tokens outside the top k count as 0.
- text (an endpoint without log-probs): a TextAnswerResult carrying the label the answer text
  names, with no confidence (the seed's fallback to binary yes/no); text naming no label is
  a failed result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scorers.judge.labels import LabelSet
from scorers.judge.result import (
    JudgeResult,
    TextAnswerResult,
    result_from_logprobs,
    result_from_token_logprobs,
)

TOKEN_ID_PREFIX = "token_id:"
MAX_ANSWER_CHARS = 200


@dataclass(frozen=True)
class FirstToken:
    """What the endpoint said about the first generated token."""

    # (token, log-prob) pairs of the top tokens; None when there are none: the sampled token's
    # log-prob alone is no distribution, and read alone it would be a certain answer
    logprobs: list[tuple[str, float]] | None
    text: str
    prompt_tokens: int
    cached_tokens: int


def token_counts(response: Any) -> tuple[int, int]:
    """(prompt tokens, of which cached) as the response's usage reports them."""
    usage = response.usage
    details = getattr(usage, "prompt_tokens_details", None)
    return int(getattr(usage, "prompt_tokens", 0) or 0), int(
        getattr(details, "cached_tokens", 0) or 0
    )


@dataclass(frozen=True)
class Step:
    """One generated token as the endpoint returned it, with its top log-probs."""

    token: str
    top: list[tuple[str, float]]


def response_steps(logprobs: Any, chat: bool) -> list[Step]:
    """The `logprobs` of a ChatCompletion (chat) or Completion choice, step by step."""
    if logprobs is None:
        return []
    if chat:
        return [
            Step(entry.token, [(t.token, float(t.logprob)) for t in entry.top_logprobs or []])
            for entry in logprobs.content or []
        ]
    tokens, tops = logprobs.tokens or [], logprobs.top_logprobs or []
    return [
        Step(
            tokens[i] if i < len(tokens) else "",
            [(t, float(v)) for t, v in (tops[i] or {}).items()] if i < len(tops) else [],
        )
        for i in range(max(len(tokens), len(tops)))
    ]


def first_token(response: Any, chat: bool) -> FirstToken:
    """Read a ChatCompletion (chat) or Completion response of the openai package."""
    choice = response.choices[0]
    prompt_tokens, cached_tokens = token_counts(response)
    text = (choice.message.content if chat else choice.text) or ""
    steps = response_steps(choice.logprobs, chat)
    pairs = steps[0].top if steps else None
    return FirstToken(pairs or None, text, prompt_tokens, cached_tokens)


def has_token_ids(pairs: Sequence[tuple[str, float]]) -> bool:
    """Whether the server answered with "token_id:<id>" tokens (it honoured vLLM's fields)."""
    return any(token.startswith(TOKEN_ID_PREFIX) for token, _ in pairs)


def token_id(token: str) -> int:
    """The id in a "token_id:<id>" token."""
    return int(token[len(TOKEN_ID_PREFIX) :])


def logprobs_by_id(pairs: Sequence[tuple[str, float]]) -> dict[int, float]:
    """Token id -> log-prob of the "token_id:<id>" entries among `pairs`."""
    return {token_id(t): lp for t, lp in pairs if t.startswith(TOKEN_ID_PREFIX)}


def read_token_ids(step: FirstToken, ids_per_label: tuple[tuple[int, ...], ...]) -> JudgeResult:
    return result_from_token_logprobs(
        logprobs_by_id(step.logprobs or []),
        ids_per_label,
        step.prompt_tokens,
        step.cached_tokens,
        source="endpoint",
    )


def read_top_k(step: FirstToken, label_set: LabelSet) -> JudgeResult:
    pairs = step.logprobs or []
    per_label = [
        [logprob for token, logprob in pairs if token.strip() in forms]
        for forms in label_set.surface_forms
    ]
    if not any(per_label):
        top = ", ".join(repr(token) for token, _ in pairs[:5])
        return JudgeResult.failed(
            f"no label token among the endpoint's {len(pairs)} top log-probs (top: {top})",
            step.prompt_tokens,
        )
    return result_from_logprobs(
        per_label, prompt_tokens=step.prompt_tokens, cached_tokens=step.cached_tokens
    )


def read_text(step: FirstToken, label_set: LabelSet) -> JudgeResult:
    """The first word of the answer that is a label's surface form, as a TextAnswerResult."""
    for word in re.findall(r"\w+", step.text):
        for label, forms in zip(label_set.labels, label_set.surface_forms, strict=True):
            if word in forms:
                return TextAnswerResult(
                    probs=None,
                    label_mass=None,
                    error=None,
                    prompt_tokens=step.prompt_tokens,
                    cached_tokens=step.cached_tokens,
                    answer_label=label,
                    answer_text=step.text[:MAX_ANSWER_CHARS],
                )
    return JudgeResult.failed(
        f"endpoint returned no log-probs and the answer {step.text[:60]!r} names no label",
        step.prompt_tokens,
    )
