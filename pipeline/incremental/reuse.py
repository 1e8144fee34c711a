"""At the judge boundary: each request's key looked up among its rows' earlier judgments;
only the misses go to the judge, and the reused results are merged back in request order, so a
scorer reads exactly what a fresh run would give it. Every judgment of the batch, fresh or
reused, is handed on for the run to record.

A request is keyed (reusable and recorded) when it is a log-prob request of a scorer that says
which requests are each row's, with counts that add up (PreparedBatch.request_offsets, as the
judge stage splits calls by); constrained generations are judged every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.incremental.judgments import (
    PRIOR_COLUMN,
    PRIOR_TYPE,
    judgment_items,
    per_row,
    recordable,
    results_of,
)
from pipeline.incremental.request_keys import KEY_TYPE, request_keys
from scorers.judged import PreparedBatch


@dataclass(frozen=True)
class JudgmentReuse:
    """What a judge actor needs to key, reuse and record its judgments: its judge's
    fingerprint (worked out once, on the driver) and the column its judgments leave in."""

    fingerprint: str
    column: str

    def lookup(self, batch: pa.Table, prepared: Sequence[PreparedBatch]) -> Lookup:
        prior = _prior_items(batch)
        prior_keys = prior.field("key")
        keyed: list[_Keyed | None] = []
        for ready in prepared:
            offsets = ready.request_offsets(batch.num_rows)
            if ready.generation or offsets is None:
                keyed.append(None)  # judged in full, nothing recorded
                continue
            keys = request_keys(self.fingerprint, ready.label_set, ready.prompts)
            found = pc.index_in(keys, value_set=prior_keys)
            hit = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            rows = np.repeat(np.arange(batch.num_rows), np.diff(offsets))
            keyed.append(_Keyed(keys, hit, rows))
        return Lookup(list(prepared), keyed, prior, batch.num_rows)


@dataclass(frozen=True)
class _Keyed:
    keys: pa.Array
    hit: np.ndarray  # per request: index of its earlier judgment in the batch's, else -1
    row: np.ndarray  # per request: its row in the batch


@dataclass(frozen=True)
class Lookup:
    prepared: list[PreparedBatch]
    keyed: list[_Keyed | None]
    prior: pa.StructArray
    rows: int

    @property
    def misses(self) -> list[PreparedBatch]:
        """Each prepared batch with only the requests no earlier judgment answers."""
        out = []
        for ready, keyed in zip(self.prepared, self.keyed, strict=True):
            if keyed is None:
                out.append(ready)
                continue
            miss = np.flatnonzero(keyed.hit < 0)
            counts = np.bincount(keyed.row[miss], minlength=self.rows)
            out.append(
                replace(
                    ready,
                    prompts=[ready.prompts[i] for i in miss],
                    requests_per_row=counts.tolist(),
                )
            )
        return out

    def merged(self, judged: Sequence[list[Any]]) -> list[list[Any]]:
        """Each prepared batch's results in request order: earlier judgments where they
        answer, the judge's (`judged`: results of `misses`) elsewhere."""
        out: list[list[Any]] = []
        for keyed, fresh in zip(self.keyed, judged, strict=True):
            if keyed is None:
                out.append(list(fresh))
                continue
            hits = np.flatnonzero(keyed.hit >= 0)
            results: list[Any] = [None] * len(keyed.hit)
            earlier = results_of(self.prior.take(pa.array(keyed.hit[hits])))
            for position, result in zip(hits.tolist(), earlier, strict=True):
                results[position] = result
            misses = np.flatnonzero(keyed.hit < 0)
            for position, result in zip(misses.tolist(), fresh, strict=True):
                results[position] = result
            out.append(results)
        return out

    def recorded(self, results: Sequence[Sequence[Any]]) -> pa.ListArray:
        """Per row of the batch, its keyed judgments that succeeded (JUDGMENT_TYPE)."""
        items, rows = [], []
        for keyed, each in zip(self.keyed, results, strict=True):
            if keyed is None:
                continue
            keep = np.fromiter((recordable(r) for r in each), bool, len(each))
            picked = np.flatnonzero(keep)
            items.append(
                judgment_items(
                    keyed.keys.take(pa.array(picked)),
                    [each[i] for i in picked],
                    keyed.hit[picked] >= 0,
                )
            )
            rows.append(keyed.row[picked])
        if not items:
            items.append(judgment_items(pa.array([], KEY_TYPE), [], np.zeros(0, bool)))
            rows.append(np.zeros(0, np.int64))
        return per_row(pa.concat_arrays(items), np.concatenate(rows), self.rows)


def _prior_items(batch: pa.Table) -> pa.StructArray:
    """Every earlier judgment of the batch's rows, flattened (none outside an incremental
    run)."""
    if PRIOR_COLUMN not in batch.column_names:
        return pa.array([], PRIOR_TYPE)
    flat = batch[PRIOR_COLUMN].combine_chunks().flatten()
    assert isinstance(flat, pa.StructArray)
    return flat
