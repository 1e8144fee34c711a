"""How many passes over the data a run needs, decided from the spec before anything runs.

One pass when every score can be finished block by block: the rows' own scores, and
cross-sample results computed beforehand from the input alone. A second pass over the judged
rows when something needs all of them first: calibration (fitted on the labelled rows), a
whole-dataset scorer that reads judged scores, or a scorer that types its output at run time
(its type is known only once every block has been scored)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.spec import JobSpec
from scorers.registry import WholeDatasetKind, kind_of
from scorers.scorer_spec import ScorerSpec


@dataclass(frozen=True)
class PassLayout:
    before: tuple[ScorerSpec, ...]  # cross-sample scorers run on the input before the pass
    after: tuple[ScorerSpec, ...]  # cross-sample scorers that read judged scores
    second_pass: bool


def layout_of(spec: JobSpec, input_columns: Sequence[str]) -> PassLayout:
    judged_keys = [s.key for s in spec.data_pass_scorers()]
    after = tuple(
        s for s in spec.cross_sample_scorers() if _reads_scores(s, input_columns, judged_keys)
    )
    before = tuple(s for s in spec.cross_sample_scorers() if s not in after)
    run_time_typed = any(s.output_type() is None for s in spec.data_pass_scorers())
    second = bool(after) or spec.calibration is not None or run_time_typed
    return PassLayout(before, after, second)


def _reads_scores(scorer: ScorerSpec, input_columns: Sequence[str], judged_keys: list[str]) -> bool:
    kind = kind_of(scorer)
    if not isinstance(kind, WholeDatasetKind):
        return False
    read = kind.build(scorer).sample_columns(input_columns, judged_keys)
    return bool(set(read) & set(judged_keys))
