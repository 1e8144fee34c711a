"""Judge prompts as the token ids the model sees: in the chat template when there is one, and
with every run of prompts that share a text prefix (one sample's checklist questions) sharing
that prefix's *tokens* exactly.

The engine's prefix cache matches token ids, not text. Each run's shared part is tokenized
once and every prompt of the run is those ids plus its own part's ids, so they are a true
token prefix of each request; the split sits on a boundary of the tokenizer's pre-tokenizer
(BPE never merges across one), and the first prompt of each run is checked against its
one-piece tokenization: where they differ (a normalizer, a prefix space, an appended special
token) the run falls back to one-piece tokenization. Tokenizing the shared part once also
spares tokenizing a long response once per question.

With `pad_to` (the engine's KV block size) the shared ids are padded with `pad_id` to a whole
number of blocks, so the cache covers all of it: the engine reuses whole blocks only, and the
unfinished last block is otherwise computed again by every request of the run. Padding adds
tokens the model reads, so it is the spec's choice (judge.prefix_padding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SENTINEL = "\ue000rayscore\ue000"
PRE_TOKENIZE_WINDOW = 256  # characters before the split point handed to the pre-tokenizer


def encode_prompts(
    tokenizer: Any,
    prompts: Sequence[str],
    use_chat_template: bool,
    pad_to: int = 0,
    pad_id: int | None = None,
) -> list[list[int]]:
    """Each prompt as one user turn with the assistant's turn opened, or as plain text."""
    texts = chat_texts(tokenizer, prompts) if use_chat_template else list(prompts)
    special = not use_chat_template  # a rendered chat template carries its special tokens
    ids: list[list[int]] = []
    for start, stop, shared_chars in shared_runs(texts):
        run = texts[start:stop]
        split = split_point(tokenizer, run[0], shared_chars) if len(run) > 1 else 0
        encoded = _encode_split(tokenizer, run, split, special, pad_to, pad_id) if split else None
        ids.extend(encoded if encoded is not None else encode_texts(tokenizer, run, special))
    return ids


def chat_texts(tokenizer: Any, prompts: Sequence[str]) -> list[str]:
    """The prompts rendered in the chat template: rendered once around a placeholder and
    filled in, unless that differs from a real rendering of the first prompt."""
    if not prompts:
        return []
    head, marker, tail = _render(tokenizer, SENTINEL).partition(SENTINEL)
    if marker and head + prompts[0] + tail == _render(tokenizer, prompts[0]):
        return [head + p + tail for p in prompts]
    return [_render(tokenizer, p) for p in prompts]


def _render(tokenizer: Any, prompt: str) -> str:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    return str(text)


def encode_texts(tokenizer: Any, texts: Sequence[str], special: bool) -> list[list[int]]:
    """Token ids of each text, in one call to the (Rust) batch encoder."""
    if not texts:
        return []
    encoded = tokenizer(list(texts), add_special_tokens=special, return_attention_mask=False)
    return [list(ids) for ids in encoded["input_ids"]]


def shared_runs(texts: Sequence[str]) -> list[tuple[int, int, int]]:
    """(start, stop, shared characters) for each run of consecutive texts that share a long
    prefix: a text joins a run of one when it shares at least half its length with it, and a
    longer run when it shares nearly all the run shares (a sample's next question does; the
    next sample shares only the template's opening)."""
    runs: list[tuple[int, int, int]] = []
    start, shared = 0, 0
    for i in range(1, len(texts) + 1):
        if i < len(texts):
            common = common_prefix_length(texts[i - 1], texts[i])
            alone = i - start == 1
            if common > 0 and (common * 2 >= len(texts[i]) if alone else common * 10 >= shared * 9):
                shared = common if alone else min(shared, common)
                continue
        runs.append((start, i, shared if i - start > 1 else 0))
        start, shared = i, 0
    return runs


def common_prefix_length(a: str, b: str) -> int:
    """Length of the longest common prefix, by bisection over slice comparisons."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def split_point(tokenizer: Any, text: str, shared_chars: int) -> int:
    """The last pre-token boundary strictly inside the shared part (0: none found)."""
    pre_tokenizer = getattr(getattr(tokenizer, "backend_tokenizer", None), "pre_tokenizer", None)
    if pre_tokenizer is None or shared_chars < 2:
        return 0
    offset = max(0, shared_chars - PRE_TOKENIZE_WINDOW)
    pieces = pre_tokenizer.pre_tokenize_str(text[offset : shared_chars + 1])
    starts = [offset + start for _, (start, _) in pieces if 0 < offset + start < shared_chars]
    # the window's first piece may start mid-token: never split there
    return max((s for s in starts if s > offset), default=0)


def _encode_split(
    tokenizer: Any,
    texts: Sequence[str],
    split: int,
    special: bool,
    pad_to: int,
    pad_id: int | None,
) -> list[list[int]] | None:
    """The run's shared part tokenized once, each prompt's own part after it; None when the
    first prompt's ids differ from its one-piece tokenization."""
    shared = encode_texts(tokenizer, [texts[0][:split]], special)[0]
    # special tokens (a BOS) belong at the start of the whole prompt, not of its own part
    own = encode_texts(tokenizer, [t[split:] for t in texts], False)
    if shared + own[0] != encode_texts(tokenizer, texts[:1], special)[0]:
        return None
    if pad_to > 1 and pad_id is not None:
        shared = shared + [pad_id] * (-len(shared) % pad_to)
    return [shared + ids for ids in own]
