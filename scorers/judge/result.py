"""What a log-prob judge returns for one request, and the protocol every judge follows."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyarrow as pa

from scorers.judge.labels import LabelSet

# A prompt the engine cannot take: online scoring finds it in a row's error and answers 422.
PROMPT_TOO_LONG = re.compile(
    r"prompt has (?P<tokens>\d+) tokens; the judge's max_model_len is (?P<limit>\d+)"
)


def prompt_too_long(tokens: int, limit: int) -> str:
    return (
        f"prompt has {tokens} tokens; the judge's max_model_len is {limit} "
        "(judge.engine_kwargs.max_model_len)"
    )


@dataclass(frozen=True)
class JudgeResult:
    """P(label) over a label set for one prompt, or the reason there is none.

    `probs` is renormalised over the label set (it sums to 1); `label_mass` is the raw
    probability the model gave all label tokens together, a check that it meant to answer.
    """

    probs: tuple[float, ...] | None
    label_mass: float | None
    error: str | None
    prompt_tokens: int = 0
    cached_tokens: int = 0

    @property
    def generated_tokens(self) -> int:
        """One decode step read for its label log-probs, when the request was served."""
        return 0 if self.probs is None else 1

    @property
    def without_logprobs(self) -> bool:
        """Answered, but with no log-probs to read a confidence from."""
        return False

    @property
    def without_label(self) -> bool:
        """Answered, but not with a label (scorers.judge.label_mass)."""
        return False

    @classmethod
    def failed(cls, reason: str, prompt_tokens: int = 0) -> JudgeResult:
        return cls(probs=None, label_mass=None, error=reason, prompt_tokens=prompt_tokens)


@dataclass(frozen=True)
class TextAnswerResult(JudgeResult):
    """An endpoint without log-probs answered in text: no confidence (probs is None) but the
    label the answer named, `answer_label`, one of the label set's labels (the seed's fallback
    to binary yes/no). `error` stays None: the request succeeded."""

    answer_label: str = ""
    answer_text: str = ""

    @property
    def generated_tokens(self) -> int:
        return 1

    @property
    def without_logprobs(self) -> bool:
        return True


def parsed_answer(result: JudgeResult) -> str | None:
    """The label read from the answer text when the endpoint gave no log-probs, else None."""
    return result.answer_label if isinstance(result, TextAnswerResult) else None


class LogprobJudge(Protocol):
    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        """One result per prompt, in order; a bad prompt fails alone."""
        ...


def result_from_logprobs(
    label_logprobs: Sequence[Sequence[float]], prompt_tokens: int = 0, cached_tokens: int = 0
) -> JudgeResult:
    """Combine per-spelling log-probs into label probabilities (log-sum-exp per label)."""
    per_label = [_logsumexp(lps) for lps in label_logprobs]
    total = _logsumexp(per_label)
    if total == -math.inf:
        return JudgeResult.failed("every label token has probability 0", prompt_tokens)
    probs = tuple(math.exp(lp - total) for lp in per_label)
    return JudgeResult(
        probs=probs,
        label_mass=math.exp(total),
        error=None,
        prompt_tokens=prompt_tokens,
        cached_tokens=cached_tokens,
    )


def result_from_token_logprobs(
    logprob_of: Mapping[int, float],
    ids_per_label: Sequence[Sequence[int]],
    prompt_tokens: int,
    cached_tokens: int,
    source: str,
) -> JudgeResult:
    """The label probabilities from the log-prob of every label token id, or a failed result
    naming the ids `source` ("engine", "endpoint") returned no log-prob for."""
    missing = [t for ids in ids_per_label for t in ids if t not in logprob_of]
    if missing:
        return JudgeResult.failed(
            f"{source} returned no log-prob for tokens {missing}", prompt_tokens
        )
    return result_from_logprobs(
        [[logprob_of[t] for t in ids] for ids in ids_per_label],
        prompt_tokens=prompt_tokens,
        cached_tokens=cached_tokens,
    )


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values, default=-math.inf)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


@dataclass(frozen=True)
class ResultColumns:
    """A batch of judge results as columns: `probs` is (requests, labels) with NaN rows where
    a request has none; `answer_label` is the label an answer without log-probs named."""

    probs: np.ndarray
    has_probs: np.ndarray
    label_mass: pa.Array
    answer_label: pa.Array
    error: pa.Array


def result_columns(results: Sequence[JudgeResult], n_labels: int) -> ResultColumns:
    probs = np.full((len(results), n_labels), np.nan)
    has_probs = np.fromiter((r.probs is not None for r in results), bool, len(results))
    if has_probs.any():
        probs[has_probs] = [r.probs for r in results if r.probs is not None]
    return ResultColumns(
        probs=probs,
        has_probs=has_probs,
        label_mass=pa.array([r.label_mass for r in results], pa.float64()),
        answer_label=pa.array([parsed_answer(r) for r in results], pa.string()),
        error=pa.array([r.error for r in results], pa.string()),
    )
