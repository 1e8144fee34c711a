"""A fake judge for fast unit tests: deterministic confidences from a hash, no model.

Named fake on purpose: it checks plumbing, never the log-prob maths of a real engine.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, result_from_logprobs


class FakeJudge:
    def __init__(self, fail_when: str | None = None) -> None:
        self.fail_when = fail_when
        self.calls: list[list[str]] = []

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        self.calls.append(list(prompts))
        return [self._one(p, len(label_set.labels)) for p in prompts]

    def _one(self, prompt: str, n_labels: int) -> JudgeResult:
        if self.fail_when is not None and self.fail_when in prompt:
            return JudgeResult.failed(f"fake failure: prompt contains {self.fail_when!r}")
        digest = hashlib.sha256(prompt.encode()).digest()
        logprobs = [[-8.0 * digest[i] / 255.0] for i in range(n_labels)]
        return result_from_logprobs(logprobs, prompt_tokens=len(prompt.split()))


def fake_probability(prompt: str) -> float:
    """P(first label) the fake judge gives `prompt` for a two-label set (for test oracles)."""
    digest = hashlib.sha256(prompt.encode()).digest()
    a, b = -8.0 * digest[0] / 255.0, -8.0 * digest[1] / 255.0
    return math.exp(a) / (math.exp(a) + math.exp(b))
