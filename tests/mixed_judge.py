"""A FAKE judge whose answers cover every case a scorer reads: log-probs, a text answer
without log-probs, a failed request, lopsided and one-hot distributions. Chosen per prompt
by its hash, so the same prompt always gets the same answer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fake_judge import FakeJudge

from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, TextAnswerResult


class MixedJudge(FakeJudge):
    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        self.calls.append(list(prompts))
        return [self._mixed(p, label_set) for p in prompts]

    def _mixed(self, prompt: str, label_set: LabelSet) -> JudgeResult:
        digest = hashlib.sha256(prompt.encode()).digest()
        n = len(label_set.labels)
        case = digest[-1] % 6
        if case == 0:
            return JudgeResult.failed(f"fake failure {digest[0]}", prompt_tokens=digest[1])
        if case == 1:
            label = label_set.labels[digest[2] % n]
            return TextAnswerResult(None, None, None, 3, 1, answer_label=label, answer_text=label)
        if case == 2:  # one label takes everything
            probs = tuple(float(i == digest[3] % n) for i in range(n))
            return JudgeResult(probs, 0.5, None, prompt_tokens=7, cached_tokens=2)
        return self._one(prompt, n)
