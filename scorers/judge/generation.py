"""Constrained generation whose answer confidences are read at the answer position.

The judge generates JSON under a regex grammar (reasoning, answers). At the step where an
answer value starts, the grammar allows only tokens that begin one of the answer values
("y", "ye", "yes" / "n", "no"): the sum of each value's tokens there is the probability the
judge gives that answer. That is the same P(Yes) / (P(Yes) + P(No)) as in item mode, read
inside the generated answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from scorers.judge.result import JudgeResult, result_from_logprobs

ANSWER_VALUE = re.compile(r'"answer"\s*:\s*"')


@dataclass(frozen=True)
class GenerationRequest:
    """One constrained generation: `regex` for engines with a grammar (vLLM), `schema` (the
    same shape as JSON Schema) for endpoints that take `response_format` or only a prompt."""

    prompt: str
    regex: str
    max_tokens: int
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Generated:
    """Generated text, each token's start in `aligned_text` (the tokens decoded one by one,
    which differs from `text` only where a character spans tokens), and each step's
    answer-token log-probs."""

    text: str
    token_ids: tuple[int, ...]
    token_starts: tuple[int, ...]
    step_logprobs: tuple[Mapping[int, float], ...]
    value_ids: tuple[tuple[int, ...], ...] = ()
    aligned_text: str = ""
    error: str | None = None
    finished: bool = True
    prompt_tokens: int = 0
    cached_tokens: int = 0
    without_logprobs: bool = False  # the endpoint returned none: answers carry no confidence

    @property
    def generated_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def without_label(self) -> bool:
        """A generation's answer is made a label by its grammar."""
        return False

    @classmethod
    def failed(cls, reason: str, prompt_tokens: int = 0) -> Generated:
        return cls("", (), (), (), error=reason, prompt_tokens=prompt_tokens)


@runtime_checkable
class GeneratingJudge(Protocol):
    def generate(
        self, requests: Sequence[GenerationRequest], values: tuple[str, ...]
    ) -> list[Generated]:
        """One generation per request, in order; a bad request fails alone."""
        ...


def value_prefix_token_ids(
    vocab: Mapping[str, int], decode: Callable[[int], str], values: Sequence[str]
) -> tuple[tuple[int, ...], ...]:
    """Per answer value, the ids of tokens whose text is a non-empty prefix of it."""
    per_value = []
    for value in values:
        ids = sorted(
            token_id
            for raw, token_id in vocab.items()
            if raw and raw[0].lower() == value[0].lower()
            for text in [decode(token_id)]
            if text and value.startswith(text)
        )
        if not ids:
            raise ValueError(f"no token of this vocabulary starts the answer {value!r}")
        per_value.append(tuple(ids))
    return tuple(per_value)


def token_starts(pieces: Sequence[str]) -> tuple[int, ...]:
    """Where each token's text starts in the tokens' texts joined (`aligned_text`)."""
    starts, offset = [], 0
    for piece in pieces:
        starts.append(offset)
        offset += len(piece)
    return tuple(starts)


def answer_step_logprobs(
    steps: Iterable[Mapping[int, float]], value_ids: tuple[tuple[int, ...], ...]
) -> tuple[dict[int, float], ...]:
    """Each step's log-probs of the answer values' tokens only."""
    keep = {t for ids in value_ids for t in ids}
    return tuple({t: lp for t, lp in step.items() if t in keep} for step in steps)


def answer_confidences(generated: Generated) -> list[JudgeResult]:
    """One label distribution per `"answer": "` in the text, in order of appearance."""
    results = []
    for match in ANSWER_VALUE.finditer(generated.aligned_text or generated.text):
        step = _step_starting_at(generated.token_starts, match.end())
        if step is None:
            results.append(JudgeResult.failed("no token starts exactly at the answer value"))
            continue
        logprobs = generated.step_logprobs[step]
        results.append(
            result_from_logprobs(
                [[logprobs.get(t, float("-inf")) for t in ids] for ids in generated.value_ids]
            )
        )
    return results


def _step_starting_at(starts: Sequence[int], offset: int) -> int | None:
    for step, start in enumerate(starts):
        if start == offset:
            return step
        if start > offset:
            return None
    return None
