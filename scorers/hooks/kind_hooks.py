"""The optional hooks of one scorer kind: None where the kind has no such part."""

from __future__ import annotations

from dataclasses import dataclass

from scorers.hooks.calibration_hook import CalibrationHook
from scorers.hooks.items_hook import ItemsHook
from scorers.hooks.variance_hook import VarianceHook


@dataclass(frozen=True)
class KindHooks:
    items: ItemsHook | None = None
    """Its structs hold a list of items, each a score of its own (score records, run.items)."""
    calibration: CalibrationHook | None = None
    """Its items' confidences can be calibrated to human labels (and weighed into a composite)."""
    variance: VarianceHook | None = None
    """`rayscore variance` can score it on repeats (and paraphrases) of sampled rows."""


NO_HOOKS = KindHooks()
