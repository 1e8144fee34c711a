"""Prompt tokens an engine with vLLM's prefix cache computes for a sequence of requests.

vLLM caches the KV of whole blocks, each known by its tokens and every token before it, and a
request reuses the leading blocks an earlier request filled, never its own last token (it must
compute one position to answer). Everything after the reused blocks is computed. The cache is
taken to hold everything (a sample's requests arrive together, so their blocks are still
there); what is measured on the real engine is in BENCHMARKS.md (prefix_efficiency).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def computed_prompt_tokens(requests: Iterable[Sequence[int]], block_size: int) -> int:
    """Prompt tokens computed for `requests` (token ids, in the order the engine gets them)."""
    filled: set[int] = set()
    computed = 0
    for ids in requests:
        hashes = block_hashes(ids, block_size)
        reusable = (len(ids) - 1) // block_size if ids else 0
        hit = 0
        while hit < reusable and hashes[hit] in filled:
            hit += 1
        computed += len(ids) - hit * block_size
        filled.update(hashes)
    return computed


def block_hashes(ids: Sequence[int], block_size: int) -> list[int]:
    """One hash per whole block, each covering the block and every block before it."""
    whole = len(ids) // block_size
    blocks = np.asarray(ids[: whole * block_size], dtype=np.int64).reshape(whole, block_size)
    hashes: list[int] = []
    previous = 0
    for block in blocks:
        previous = hash((previous, block.tobytes()))
        hashes.append(previous)
    return hashes
