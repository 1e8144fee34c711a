"""A FAKE judge whose answers cover every case a scorer reads: log-probs, a text answer
without log-probs, a failed request, lopsided and one-hot distributions. Chosen per prompt
by its hash, so the same prompt always gets the same answer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fake_judge import FakeJudge

from scorers.judge.generation import Generated, GenerationRequest
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


YES_IDS, NO_IDS = (1, 2, 3), (4, 5)  # "y", "ye", "yes" / "n", "no"


class MixedGenerator(MixedJudge):
    """Also generates JSON answers, FAKE ones: per request, by its prompt's hash, well-formed
    answers with confidences at their answer tokens (in order or reversed), with reasoning,
    without log-probs, cut off at the budget, not JSON, or failed."""

    def generate(
        self, requests: Sequence[GenerationRequest], values: tuple[str, ...]
    ) -> list[Generated]:
        return [self._generated(r) for r in requests]

    def _generated(self, request: GenerationRequest) -> Generated:
        digest = hashlib.sha256(request.prompt.encode()).digest()
        n = max(1, request.regex.count("question_index"))
        case = digest[-1] % 8
        if case == 0:
            return Generated.failed(f"fake engine error {digest[0]}", prompt_tokens=5)
        if case == 1:
            return _pieces_generated(["not json at all"], {}, finished=True)
        if case == 2:
            return _pieces_generated(['{"answers": [{"question'], {}, finished=False)
        order = list(range(1, n + 1))
        if case == 3:
            order.reverse()
        pieces, steps = ['{"answers": [' if n > 1 else ""], {}
        for k, index in enumerate(order):
            yes = digest[index % 32] % 2 == 0
            head = (", " if k else "") + "{"
            head += f'"question_index": {index}, ' if n > 1 else ""
            pieces.append(head + '"answer": "')
            steps[len(pieces)] = {3: -digest[(index + 7) % 32] / 40, 5: -digest[index % 32] / 50}
            pieces.append("yes" if yes else "no")
            reasoning = f', "reasoning": "because {digest[index % 32]}"' if case == 4 else ""
            pieces.append('"' + reasoning + "}")
        pieces.append("]}" if n > 1 else "")
        return _pieces_generated(pieces, steps if case != 5 else {}, finished=True)


def _pieces_generated(
    pieces: list[str], steps: dict[int, dict[int, float]], finished: bool
) -> Generated:
    starts, offset = [], 0
    for piece in pieces:
        starts.append(offset)
        offset += len(piece)
    return Generated(
        text="".join(pieces),
        token_ids=tuple(range(len(pieces))),
        token_starts=tuple(starts),
        step_logprobs=tuple(steps.get(i, {}) for i in range(len(pieces))),
        value_ids=(YES_IDS, NO_IDS),
        finished=finished,
        prompt_tokens=len(pieces) * 3,
        cached_tokens=len(pieces),
    )
