"""Two runs' scores compared as one judge's: answers, errors and every other field exactly,
floats to ENGINE_TOLERANCE, since the engine's numbers for a prompt may move in their last
bits with the other prompts that share its engine step (a fresh run batches differently from
an incremental one)."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

ENGINE_TOLERANCE = 1e-6


def assert_same_scores(left: pl.DataFrame, right: pl.DataFrame) -> None:
    assert_frame_equal(left, right, check_exact=False, abs_tol=ENGINE_TOLERANCE, rel_tol=0)
