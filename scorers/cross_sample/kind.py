"""The cross-sample scorer kinds."""

from scorers.cross_sample.near_duplicates import NearDuplicatesScorer
from scorers.cross_sample.python_batch import PythonAllSamplesScorer
from scorers.cross_sample.spec import NearDuplicatesSpec, PythonAllSamplesSpec, UniquenessSpec
from scorers.cross_sample.uniqueness import UniquenessScorer
from scorers.registry import GroupedKind, WholeDatasetKind

PYTHON_ALL_SAMPLES = WholeDatasetKind(PythonAllSamplesSpec, PythonAllSamplesScorer)
UNIQUENESS = GroupedKind(UniquenessSpec, UniquenessScorer)
NEAR_DUPLICATES = GroupedKind(NearDuplicatesSpec, NearDuplicatesScorer)
