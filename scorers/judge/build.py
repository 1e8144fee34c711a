"""A judge from its spec: each backend's spec class builds its own (heavy imports there)."""

from __future__ import annotations

from scorers.judge.endpoint_path import EndpointPath
from scorers.judge.label_mass import LabelMassFloor
from scorers.judge.result import LogprobJudge
from scorers.judge.spec import JudgeSpec


def build_judge(spec: JudgeSpec) -> LogprobJudge:
    """The spec's judge; with judge.min_label_mass, one whose answers must be labels."""
    judge = spec.build()
    return LabelMassFloor(judge, spec.min_label_mass) if spec.min_label_mass > 0 else judge


def endpoint_path(spec: JudgeSpec) -> EndpointPath | None:
    """How an openai-backend judge's endpoint will be read (one probe request); None for an
    in-process engine."""
    from scorers.judge.openai_spec import OpenAIJudgeSpec

    if not isinstance(spec, OpenAIJudgeSpec):
        return None
    with spec.build() as judge:
        return judge.path()
