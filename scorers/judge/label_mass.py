"""Did the judge answer with a label at all? P(yes)/(P(yes)+P(no)) reads a confident answer
even from two tiny probabilities (a model that opens "<think>" or says "Sure!"); the label
mass, the probability all label spellings got together, says whether it meant to answer.

A one-token answer whose label mass is under `judge.min_label_mass` comes back unscored, with
the reason and its label mass, from the judge every scorer asks (`LabelMassFloor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, LogprobJudge

DEFAULT_MIN_LABEL_MASS = 0.5


def no_label_reason(label_mass: float) -> str:
    mass = np.format_float_positional(label_mass, precision=2, fractional=False, trim="-")
    return f"the judge did not answer with a label (label mass {mass})"


@dataclass(frozen=True)
class NoLabelResult(JudgeResult):
    """Answered, but not with a label: the label mass is kept, the probabilities are not."""

    @property
    def generated_tokens(self) -> int:
        return 1

    @property
    def without_label(self) -> bool:
        return True


def floored(result: JudgeResult, min_label_mass: float) -> JudgeResult:
    """`result`, or a NoLabelResult when its label mass is under `min_label_mass`."""
    mass = result.label_mass
    if result.probs is None or mass is None or mass >= min_label_mass:
        return result
    return NoLabelResult(
        probs=None,
        label_mass=mass,
        error=no_label_reason(mass),
        prompt_tokens=result.prompt_tokens,
        cached_tokens=result.cached_tokens,
    )


class LabelMassFloor:
    """A judge whose one-token answers under `min_label_mass` come back as NoLabelResult.

    Everything else (generate, path, ...) is the wrapped judge's own, looked up on it: a
    judge that cannot generate stays one that cannot (`GeneratingJudge` checks by attribute).
    """

    def __init__(self, judge: LogprobJudge, min_label_mass: float) -> None:
        self.inner = judge
        self.min_label_mass = min_label_mass

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        return [floored(r, self.min_label_mass) for r in self.inner.judge(prompts, label_set)]

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (a copy being built): no judge to ask
            raise AttributeError(name)
        return getattr(self.inner, name)
