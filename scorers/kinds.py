"""Every built-in scorer kind a job spec can name: one registration line each.

To add a kind, give it a package (spec class, scorer, `kind.py`) and add it here; or call
`scorers.registry.register(kind)` from a plug-in.
"""

from scorers.checklist.kind import CHECKLIST
from scorers.cross_sample.kind import NEAR_DUPLICATES, PYTHON_ALL_SAMPLES, UNIQUENESS
from scorers.python_scorer.kind import PYTHON
from scorers.rating.kind import BOOLEAN, CATEGORICAL, LIKERT
from scorers.registry import ScorerKind

BUILTIN_KINDS: tuple[ScorerKind, ...] = (
    CHECKLIST,
    LIKERT,
    CATEGORICAL,
    BOOLEAN,
    PYTHON,
    PYTHON_ALL_SAMPLES,
    UNIQUENESS,
    NEAR_DUPLICATES,
)
