"""A metric spec tied to its scorer's output column: what runs on the cluster, picklable."""

from __future__ import annotations

from dataclasses import dataclass

from scorers.metrics.spec import Label, MetricSpec


@dataclass(frozen=True)
class BoundMetric:
    name: str
    type: str
    scorer: str
    field: str
    label_column: str | None = None
    group_by: tuple[str, ...] = ()
    positive_label: Label = True
    threshold: float | None = None
    compute_metric_snippet: str | None = None
    scorer_name: str | None = None  # the scorer's display name; its key when None

    @classmethod
    def from_spec(
        cls, scorer: str, spec: MetricSpec, scorer_name: str | None = None
    ) -> BoundMetric:
        return cls(
            name=spec.display_name,
            type=spec.type,
            scorer=scorer,
            scorer_name=scorer_name,
            field=spec.field,
            label_column=spec.label_column,
            group_by=tuple(spec.group_by),
            positive_label=spec.positive_label,
            threshold=spec.threshold,
            compute_metric_snippet=spec.compute_metric_snippet,
        )

    def input_columns(self) -> list[str]:
        """Top-level columns, besides the scorer's output, that this metric reads."""
        columns = [self.label_column, *self.group_by]
        return list(dict.fromkeys(c for c in columns if c is not None))
