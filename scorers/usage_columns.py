"""`usage_of` for a whole batch: each row's judge requests counted with numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from scorers.segments import integer_totals
from scorers.usage import USAGE_TYPE, CountedRequest


def request_counts(requests: Sequence[CountedRequest]) -> np.ndarray:
    """One row per request, one column per usage field (in USAGE_FIELDS order)."""
    counts = np.ones((len(requests), len(USAGE_TYPE)), dtype=np.int64)
    if requests:
        counts[:, 1:] = [
            (
                r.prompt_tokens,
                r.cached_tokens,
                r.generated_tokens,
                r.without_logprobs,
                r.without_label,
            )
            for r in requests
        ]
    return counts


def usage_array(
    requests: Sequence[CountedRequest],
    rows: np.ndarray,
    requests_per_row: np.ndarray,
    row_count: int,
) -> pa.StructArray:
    """Each row's usage: its consecutive `requests_per_row` requests summed; `rows` are the
    row indices that made requests, in order; the other rows made none (all zeros)."""
    per_row = np.zeros((row_count, len(USAGE_TYPE)), dtype=np.int64)
    per_row[rows] = integer_totals(request_counts(requests), requests_per_row)
    return pa.StructArray.from_arrays(
        [pa.array(column) for column in per_row.T], fields=list(USAGE_TYPE)
    )
