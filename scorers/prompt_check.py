"""Checks a scorer spec runs at load time: template placeholders, metric fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from scorers.metrics.spec import MetricSpec
from scorers.templates import template_placeholders


def check_template(template: str, available: Iterable[str], required: Iterable[str]) -> None:
    names = sorted(set(available))
    unknown = sorted(template_placeholders(template) - set(names))
    if unknown:
        raise ValueError(f"template uses {{{unknown[0]}}}; available: {', '.join(names)}")
    missing = sorted(set(required) - template_placeholders(template))
    if missing:
        raise ValueError(f"template must use {{{missing[0]}}}")


def check_metric_fields(metrics: Sequence[MetricSpec], fields: Sequence[str]) -> None:
    for metric in metrics:
        if metric.field is not None and metric.field not in fields:
            available = ", ".join(fields)
            raise ValueError(
                f"metric field {metric.field!r} is not a score field; available: {available}"
            )


def refuse_metric_fields(
    metrics: Sequence[MetricSpec], refused: Mapping[str, str], scorer: str
) -> None:
    """No metric over a field in `refused` (field -> why not); `scorer` says whose."""
    for metric in metrics:
        if metric.field in refused:
            raise ValueError(
                f"{scorer}: metric {metric.display_name!r} ({metric.type} over field "
                f"{metric.field!r}): {refused[metric.field]}"
            )
