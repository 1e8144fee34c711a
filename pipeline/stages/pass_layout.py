"""How many passes over the data a run needs, decided from the spec before anything runs.

One pass when every score can be finished block by block: the rows' own scores, and
cross-sample results computed beforehand from the input alone. A second pass over the judged
rows when something needs all of them first: calibration (fitted on the labelled rows), a
whole-dataset scorer that reads judged scores, or a scorer that types its output at run time
(its type is known only once every block has been scored)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.plan import Plan
from scorers.registry import WholeDatasetKind, kind_of
from scorers.scorer_spec import ScorerSpec


@dataclass(frozen=True)
class PassLayout:
    before: tuple[ScorerSpec, ...]  # cross-sample scorers run on the input before the pass
    after: tuple[ScorerSpec, ...]  # cross-sample scorers that read judged scores
    second_pass: bool


def layout_of(plan: Plan, input_columns: Sequence[str]) -> PassLayout:
    judged_keys = [s.key for s in plan.data_pass]
    after = tuple(s for s in plan.cross_sample if _reads_scores(s, input_columns, judged_keys))
    before = tuple(s for s in plan.cross_sample if s not in after)
    run_time_typed = any(s.output_type() is None for s in plan.data_pass)
    second = bool(after) or plan.spec.calibration is not None or run_time_typed
    return PassLayout(before, after, second)


def _reads_scores(scorer: ScorerSpec, input_columns: Sequence[str], judged_keys: list[str]) -> bool:
    kind = kind_of(scorer)
    if not isinstance(kind, WholeDatasetKind):
        return False
    read = kind.build(scorer).sample_columns(input_columns, judged_keys)
    return bool(set(read) & set(judged_keys))
