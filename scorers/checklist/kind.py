"""The checklist scorer kind (the checklist-scorers seed), with every hook it has: its items,
their calibration, and its variance."""

from scorers.checklist.calibration_hook import CHECKLIST_CALIBRATION
from scorers.checklist.items_hook import CHECKLIST_ITEMS
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.checklist.variance_hook import CHECKLIST_VARIANCE
from scorers.hooks.kind_hooks import KindHooks
from scorers.registry import JudgedKind

CHECKLIST = JudgedKind(
    ChecklistScorerSpec,
    ChecklistScorer,
    KindHooks(
        items=CHECKLIST_ITEMS, calibration=CHECKLIST_CALIBRATION, variance=CHECKLIST_VARIANCE
    ),
)
