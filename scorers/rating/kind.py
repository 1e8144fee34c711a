"""The single-question scorer kinds: likert, categorical, boolean."""

from scorers.rating.scorer import RatingScorer
from scorers.rating.spec import BooleanSpec, CategoricalSpec, LikertSpec
from scorers.registry import JudgedKind

LIKERT = JudgedKind(LikertSpec, RatingScorer)
CATEGORICAL = JudgedKind(CategoricalSpec, RatingScorer)
BOOLEAN = JudgedKind(BooleanSpec, RatingScorer)
