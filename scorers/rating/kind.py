"""The single-question scorer kinds: likert, categorical, boolean."""

from scorers.hooks.kind_hooks import KindHooks
from scorers.rating.scorer import RatingScorer
from scorers.rating.spec import BooleanSpec, CategoricalSpec, LikertSpec
from scorers.rating.variance_hook import BOOLEAN_VARIANCE, CATEGORICAL_VARIANCE, LIKERT_VARIANCE
from scorers.registry import JudgedKind

LIKERT = JudgedKind(LikertSpec, RatingScorer, KindHooks(variance=LIKERT_VARIANCE))
CATEGORICAL = JudgedKind(CategoricalSpec, RatingScorer, KindHooks(variance=CATEGORICAL_VARIANCE))
BOOLEAN = JudgedKind(BooleanSpec, RatingScorer, KindHooks(variance=BOOLEAN_VARIANCE))
