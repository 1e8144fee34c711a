"""One vectorised config check serves the row errors and the score records: it words exactly
the values ScoreConfig.problem words, one by one, for every type a score may have."""

from __future__ import annotations

import pyarrow as pa
import pytest

from scorers.score_config import ScoreConfig, config_problems, fits

CASES = [
    (ScoreConfig(data_type="NUMERIC", min=0, max=1), pa.array([0.5, None, 1 + 1e-12, 2.0, -1.0])),
    (ScoreConfig(data_type="NUMERIC", min=0, max=1), pa.array([float("nan"), 3.0])),
    (ScoreConfig(data_type="NUMERIC", min=0.5, max=3), pa.array([0, 1, 3, 4, None], pa.int64())),
    (ScoreConfig(data_type="NUMERIC", min=0, max=1), pa.array([True, False, None])),
    (ScoreConfig(data_type="NUMERIC"), pa.array(["1", None])),
    (ScoreConfig(data_type="BOOLEAN"), pa.array([True, None])),
    (ScoreConfig(data_type="BOOLEAN"), pa.array([1, None, 0])),
    (ScoreConfig(data_type="CATEGORICAL", categories=["a", "b"]), pa.array(["a", "c", None])),
    (ScoreConfig(data_type="CATEGORICAL", categories=["1"]), pa.array([1, 2, None])),
    (ScoreConfig(data_type="CATEGORICAL"), pa.array(["anything", None])),
]  # fmt: skip


@pytest.mark.parametrize(("config", "values"), CASES)
def test_the_vectorised_check_words_what_problem_words(config, values):
    want = [config.problem(v) for v in values.to_pylist()]
    assert config_problems(values, config).to_pylist() == want
    fitting = fits(values, config)
    kept = [True] * len(values) if fitting is None else fitting.to_pylist()
    assert kept == [w is None for w in want]  # the records keep exactly the values that fit
