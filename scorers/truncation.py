"""Texts cut to a number of tokens of a tokenizer, keeping their start, their end or both.

One batch call tokenizes every text with its character offsets, so a cut text is a slice
of the original characters (nothing is decoded, nothing normalised). A tokenizer without
offsets (a slow one) cuts by decoding the kept token ids instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorers.truncate_spec import Side

MIDDLE_MARKER = " ... "


@dataclass(frozen=True)
class CutTexts:
    texts: list[str]
    dropped_tokens: np.ndarray  # per text, how many of its tokens were dropped (0: it fit)


def truncate_texts(tokenizer: Any, texts: Sequence[str], max_tokens: int, side: Side) -> CutTexts:
    """Each text cut to at most `max_tokens` of its tokens, on `side`: right keeps the first
    tokens, left the last, middle the first and last halves joined by MIDDLE_MARKER (whose
    own tokens count)."""
    kept = max_tokens
    if side == "middle":
        kept = max(kept - len(tokenizer.encode(MIDDLE_MARKER, add_special_tokens=False)), 0)
    head = kept if side == "right" else 0 if side == "left" else (kept + 1) // 2
    tail = kept - head
    fast = getattr(tokenizer, "is_fast", False)
    # per text, each token's character span (fast) or its id (slow): one batch call
    spans = _offsets(tokenizer, texts) if fast else _ids(tokenizer, texts)
    cut = _cut_at_offsets if fast else _cut_by_decoding(tokenizer)
    lengths = np.fromiter((len(s) for s in spans), np.int64, len(texts))
    out = list(texts)
    # Python per text that is too long only: a slice of its characters.
    for i in np.flatnonzero(lengths > max_tokens).tolist():
        out[i] = cut(texts[i], spans[i], head, tail, side == "middle")
    dropped = np.where(lengths > max_tokens, lengths - kept, 0)
    return CutTexts(out, dropped)


def _offsets(tokenizer: Any, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    encoded = tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True)
    return list(encoded["offset_mapping"])


def _ids(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    return list(tokenizer(list(texts), add_special_tokens=False)["input_ids"])


def _cut_at_offsets(
    text: str, offsets: Sequence[tuple[int, int]], head: int, tail: int, marked: bool
) -> str:
    head_end = offsets[head - 1][1] if head else 0
    # A character split over several byte-level tokens spans each of them: kept whole.
    tail_start = max(offsets[len(offsets) - tail][0], head_end) if tail else len(text)
    return text[:head_end] + (MIDDLE_MARKER if marked else "") + text[tail_start:]


def _cut_by_decoding(tokenizer: Any) -> Any:
    def cut(text: str, ids: Sequence[int], head: int, tail: int, marked: bool) -> str:
        start = tokenizer.decode(list(ids[:head])) if head else ""
        end = tokenizer.decode(list(ids[len(ids) - tail :])) if tail else ""
        return start + (MIDDLE_MARKER if marked else "") + end

    return cut
