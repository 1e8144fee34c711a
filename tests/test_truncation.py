"""Texts cut to a number of tokens, with the small model's real HF tokenizer (no engine)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from scorers.truncation import MIDDLE_MARKER, truncate_texts

WORDS = " ".join(f"word{i} is here." for i in range(60))  # ASCII: decoding ids gives it back


@pytest.fixture(scope="module")
def tokenizer(tiny_model) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


def ids_of(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False))


def test_right_keeps_the_first_tokens(tokenizer):
    ids = ids_of(tokenizer, WORDS)
    cut = truncate_texts(tokenizer, [WORDS], 40, "right")
    assert cut.texts == [tokenizer.decode(ids[:40])]
    assert cut.dropped_tokens.tolist() == [len(ids) - 40]
    assert WORDS.startswith(cut.texts[0])


def test_left_keeps_the_last_tokens(tokenizer):
    ids = ids_of(tokenizer, WORDS)
    cut = truncate_texts(tokenizer, [WORDS], 40, "left")
    assert cut.texts == [tokenizer.decode(ids[-40:])]
    assert cut.dropped_tokens.tolist() == [len(ids) - 40]


def test_middle_keeps_the_first_and_last_halves_around_the_marker(tokenizer):
    ids = ids_of(tokenizer, WORDS)
    marker = len(ids_of(tokenizer, MIDDLE_MARKER))
    kept = 40 - marker  # the marker's tokens count
    head, tail = (kept + 1) // 2, kept // 2
    cut = truncate_texts(tokenizer, [WORDS], 40, "middle")
    expected = tokenizer.decode(ids[:head]) + MIDDLE_MARKER + tokenizer.decode(ids[-tail:])
    assert cut.texts == [expected]
    assert cut.dropped_tokens.tolist() == [len(ids) - kept]


@pytest.mark.parametrize("side", ["right", "left", "middle"])
def test_texts_that_fit_are_left_as_they_are(tokenizer, side):
    short = "A short answer."
    exact = tokenizer.decode(ids_of(tokenizer, WORDS)[:40])
    cut = truncate_texts(tokenizer, [short, "", exact, WORDS], 40, side)
    assert cut.texts[:3] == [short, "", exact]
    assert cut.texts[3] != WORDS
    assert cut.dropped_tokens.tolist()[:3] == [0, 0, 0]


def test_a_character_spread_over_several_tokens_is_kept_whole(tokenizer):
    text = "東京" * 30  # byte-level BPE: several tokens per character
    for side in ("right", "left", "middle"):
        cut = truncate_texts(tokenizer, [text], 9, side).texts[0]
        assert "\ufffd" not in cut
        assert set(cut.replace(MIDDLE_MARKER, "")) <= {"東", "京"}


class SlowTokenizer:
    """The same tokenizer seen without character offsets, as a slow tokenizer is."""

    is_fast = False

    def __init__(self, fast: Any) -> None:
        self.fast = fast

    def __call__(self, texts: Sequence[str], add_special_tokens: bool) -> Any:
        return self.fast(list(texts), add_special_tokens=add_special_tokens)

    def encode(self, text: str, add_special_tokens: bool) -> list[int]:
        return list(self.fast.encode(text, add_special_tokens=add_special_tokens))

    def decode(self, ids: list[int]) -> str:
        return str(self.fast.decode(ids))


@pytest.mark.parametrize("side", ["right", "left", "middle"])
def test_a_tokenizer_without_offsets_cuts_the_same_tokens_by_decoding(tokenizer, side):
    fast = truncate_texts(tokenizer, [WORDS, "short"], 40, side)
    slow = truncate_texts(SlowTokenizer(tokenizer), [WORDS, "short"], 40, side)
    assert slow.texts == fast.texts
    assert slow.dropped_tokens.tolist() == fast.dropped_tokens.tolist()
