"""The per-sample Python scorer kind."""

from scorers.python_scorer.scorer import PythonScorer
from scorers.python_scorer.spec import PythonScorerSpec
from scorers.registry import RowKind

PYTHON = RowKind(PythonScorerSpec, PythonScorer)
