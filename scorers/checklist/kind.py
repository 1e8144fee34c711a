"""The checklist scorer kind (the checklist-scorers seed)."""

from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.registry import JudgedKind

CHECKLIST = JudgedKind(ChecklistScorerSpec, ChecklistScorer)
