"""What a job does, worked out once from its spec: which judge each judged scorer asks,
which scorers run where, which input columns each stage reads, the metrics bound to their
columns. Stages read the plan; the spec stays the schema the user wrote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scorers.columns import ColumnKind
from scorers.judge.spec import JudgeSpec
from scorers.metrics.bound import BoundMetric
from scorers.registry import hooks_of, is_judged, is_per_row
from scorers.scorer_spec import ScorerSpec

if TYPE_CHECKING:
    from pipeline.spec import JobSpec

DEFAULT_JUDGE = "judge"  # the name of the job's `judge` among its judges


@dataclass
class ColumnNeed:
    """An input column the job reads: the kinds of value asked of it, and who asks."""

    kinds: set[ColumnKind] = field(default_factory=set)
    wanted_by: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    spec: JobSpec
    judges: Mapping[str, JudgeSpec]  # every judge by name: the job's `judge`, then `judges`
    judge_groups: Mapping[str, tuple[ScorerSpec, ...]]  # judge name -> its scorers (used only)
    judged: tuple[ScorerSpec, ...]
    per_row: tuple[ScorerSpec, ...]
    data_pass: tuple[ScorerSpec, ...]  # filled row by row in the score pass: per-row and judged
    cross_sample: tuple[ScorerSpec, ...]
    calibrated: tuple[ScorerSpec, ...]  # kinds that offer calibration (scorers.hooks)
    kept_columns: tuple[str, ...]  # copied into the output: id, passthrough, trace, metrics'
    judge_columns: tuple[str, ...]  # what judge actors get: kept plus the judged inputs
    bound_metrics: tuple[BoundMetric, ...]

    @property
    def used_judges(self) -> dict[str, JudgeSpec]:
        """The judges some scorer uses, by name: only these start engines."""
        return {name: self.judges[name] for name in self.judge_groups}

    def judge_name_of(self, scorer: ScorerSpec) -> str:
        return next(name for name, group in self.judge_groups.items() if scorer in group)

    def column_requirements(self) -> dict[str, ColumnNeed]:
        """Every input column the job reads, with the kinds asked of it and the spec keys."""
        spec = self.spec
        needs: dict[str, ColumnNeed] = {}
        _need(needs, spec.input.id_column, "any", "input.id_column")
        for column in spec.input.passthrough_columns:
            _need(needs, column, "any", "input.passthrough_columns")
        for trace_field, column in spec.input.trace.mapping().items():
            kind: ColumnKind = "items" if trace_field == "tags" else "label"
            _need(needs, column, kind, f"input.trace.{trace_field}")
        for name, column in (spec.annotations.columns if spec.annotations else {}).items():
            _need(needs, column, "label", f"annotations.columns.{name}")
        self._scorer_needs(needs, judged_only=False)
        for n, scorer in enumerate(spec.definition.scorers):
            for m, metric in enumerate(scorer.metrics):
                where = f"definition.scorers.{n}.metrics.{m}"
                if metric.label_column is not None:
                    _need(needs, metric.label_column, "label", where)
                for column in metric.group_by:
                    _need(needs, column, "any", where)
        return needs

    def judged_column_requirements(self) -> dict[str, ColumnNeed]:
        """The input columns the judged scorers read: what online scoring asks of a row."""
        needs: dict[str, ColumnNeed] = {}
        self._scorer_needs(needs, judged_only=True)
        return needs

    def _scorer_needs(self, needs: dict[str, ColumnNeed], judged_only: bool) -> None:
        scorers = self.spec.definition.scorers
        scorer_keys = {s.key for s in scorers}
        for n, scorer in enumerate(scorers):
            if judged_only and not is_judged(scorer):
                continue
            where = f"definition.scorers.{n}"
            for col in scorer.input_columns():
                if not (col.may_be_scorer_output and col.name in scorer_keys):
                    _need(needs, col.name, col.kind, f"{where}.{col.spec_key}")


def plan_of(spec: JobSpec) -> Plan:
    """The spec's plan; a judged scorer whose judge cannot be told raises ValueError."""
    scorers = spec.definition.scorers
    judges = {**({DEFAULT_JUDGE: spec.judge} if spec.judge is not None else {}), **spec.judges}
    judged = tuple(s for s in scorers if is_judged(s))
    groups: dict[str, list[ScorerSpec]] = {}
    for scorer in judged:
        groups.setdefault(_judge_name(spec, judges, scorer), []).append(scorer)
    kept = [spec.input.id_column, *spec.input.passthrough_columns]
    kept += spec.input.trace.mapping().values()
    kept += [c for s in scorers for m in s.metrics for c in m.input_columns()]
    kept_columns = tuple(dict.fromkeys(kept))
    judged_inputs = [c for s in judged for c in s.column_names()]
    return Plan(
        spec=spec,
        judges=judges,
        judge_groups={name: tuple(group) for name, group in groups.items()},
        judged=judged,
        per_row=tuple(s for s in scorers if is_per_row(s)),
        data_pass=tuple(s for s in scorers if is_per_row(s) or is_judged(s)),
        cross_sample=tuple(s for s in scorers if not (is_judged(s) or is_per_row(s))),
        calibrated=tuple(s for s in scorers if hooks_of(s).calibration is not None),
        kept_columns=kept_columns,
        judge_columns=tuple(dict.fromkeys([*kept_columns, *judged_inputs])),
        bound_metrics=tuple(
            BoundMetric.from_spec(s.key, m, s.name) for s in scorers for m in s.metrics
        ),
    )


def _judge_name(spec: JobSpec, judges: Mapping[str, JudgeSpec], scorer: ScorerSpec) -> str:
    if scorer.judge is not None:
        if scorer.judge not in judges:
            raise ValueError(
                f"scorer {scorer.key!r}: no judge {scorer.judge!r}; judges: {sorted(judges)}"
            )
        return scorer.judge
    if spec.judge is not None:
        return DEFAULT_JUDGE
    if len(judges) == 1:
        return next(iter(judges))
    raise ValueError(
        f"scorer {scorer.key!r}: name its judge (judge: one of {sorted(judges)}); "
        "the job has no default `judge`"
    )


def _need(needs: dict[str, ColumnNeed], column: str, kind: ColumnKind, why: str) -> None:
    entry = needs.setdefault(column, ColumnNeed())
    entry.kinds.add(kind)
    if why not in entry.wanted_by:
        entry.wanted_by.append(why)
