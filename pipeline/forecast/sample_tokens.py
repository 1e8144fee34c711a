"""One judge's requests for a sample of rows, prepared by its scorers' own kinds and sent
through the judge stage's own request loop to a tokenizing stand-in for the engine: how many
requests each row makes, their prompt tokens, and the ids in the order the engine gets them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline.forecast.judge_tokens import Tokenization, TokenizingJudge
from pipeline.forecast.prefix_cache import computed_prompt_tokens
from pipeline.stages.judge_actor import judge_all
from scorers.judged import PreparedBatch
from scorers.registry import judged_scorer
from scorers.scorer_spec import ScorerSpec


@dataclass(frozen=True)
class SampleTokens:
    requests_per_row: np.ndarray  # per sampled row
    prompt_tokens_per_row: np.ndarray  # its requests' prompt tokens, summed
    longest_prompt_per_row: np.ndarray  # its longest request's (0: it makes none)
    requests: list[list[int]]  # every request's token ids, in the engine's order

    @property
    def prompt_tokens(self) -> int:
        return int(self.prompt_tokens_per_row.sum())

    def computed_tokens(self, block_size: int) -> int:
        return computed_prompt_tokens(self.requests, block_size)


def sample_tokens(
    scorers: Sequence[ScorerSpec], table: pa.Table, tokenization: Tokenization, batch_size: int
) -> SampleTokens:
    """The requests `scorers` make for `table`'s rows, `batch_size` rows per engine call."""
    prepared = [judged_scorer(s).prepare(table) for s in scorers]
    judge = TokenizingJudge(tokenization)
    results = judge_all(prepared, judge, rows_per_call=batch_size)
    rows = table.num_rows
    requests = np.zeros(rows, np.int64)
    tokens = np.zeros(rows, np.int64)
    longest = np.zeros(rows, np.int64)
    for ready, answers in zip(prepared, results, strict=True):
        row_of = _row_of_request(ready, rows)
        lengths = np.fromiter((a.prompt_tokens for a in answers), np.int64, len(answers))
        requests += np.bincount(row_of, minlength=rows)
        tokens += np.bincount(row_of, weights=lengths, minlength=rows).astype(np.int64)
        np.maximum.at(longest, row_of, lengths)
    return SampleTokens(requests, tokens, longest, judge.requests)


def _row_of_request(ready: PreparedBatch, rows: int) -> np.ndarray:
    """Which row each request is for; a kind that does not say is taken to spread its
    requests evenly over the rows."""
    if ready.requests_per_row is not None:
        return np.repeat(np.arange(rows), np.asarray(ready.requests_per_row, np.int64))
    return np.arange(ready.requests, dtype=np.int64) * rows // max(ready.requests, 1)
