"""Judge prompts as the token ids the model sees: in the chat template when there is one, and
with every run of prompts that share a text prefix (one sample's checklist questions) sharing
that prefix's *tokens* exactly.

The engine's prefix cache matches token ids, not text. Each run's first prompt is tokenized
whole and every other prompt only from the split on, reusing the first one's ids before it,
so the shared ids are a true token prefix of each request. The split sits on a boundary of the
tokenizer's pre-tokenizer (BPE never merges across one), and the first prompt's whole ids
must end with its own part's ids: where they do not (a normalizer, a prefix space, an
appended special token) the run is tokenized prompt by prompt. Tokenizing the shared part
once also spares tokenizing a long response once per question.

With `pad_to` (the engine's KV block size) the shared ids are padded with `pad_id` to a whole
number of blocks, so the cache covers all of it: the engine reuses whole blocks only, and the
unfinished last block is otherwise computed again by every request of the run. Padding adds
tokens the model reads, so it is the spec's choice (judge.prefix_padding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SENTINEL = "\ue000rayscore\ue000"
PRE_TOKENIZE_WINDOW = 256  # characters before the split point handed to the pre-tokenizer


def encode_prompts(
    tokenizer: Any,
    prompts: Sequence[str],
    use_chat_template: bool,
    pad_to: int = 0,
    pad_id: int | None = None,
    template_kwargs: Mapping[str, Any] | None = None,
) -> list[list[int]]:
    """Each prompt as one user turn with the assistant's turn opened, or as plain text;
    `template_kwargs` are the chat template's own variables (judge.chat_template_kwargs)."""
    texts = chat_texts(tokenizer, prompts, template_kwargs) if use_chat_template else list(prompts)
    special = not use_chat_template  # a rendered chat template carries its special tokens
    runs = [
        (start, stop, split_point(tokenizer, texts[start], shared))
        for start, stop, shared in shared_runs(texts)
        if stop - start > 1
    ]
    runs = [run for run in runs if run[2]]
    # two batch calls for the whole batch: each run's first prompt whole, and every own part
    firsts = encode_texts(tokenizer, [texts[start] for start, _, _ in runs], special)
    # special tokens (a BOS) belong at the start of the whole prompt, not of its own part
    own = iter(
        encode_distinct(
            tokenizer, [t[split:] for start, stop, split in runs for t in texts[start:stop]]
        )
    )
    ids: list[list[int] | None] = [None] * len(texts)
    for (start, stop, _), first in zip(runs, firsts, strict=True):
        owns = [next(own) for _ in range(start, stop)]
        prefix = first[: len(first) - len(owns[0])]
        if not prefix or prefix + owns[0] != first:
            continue  # the split changes the first prompt's tokens: tokenized whole below
        if pad_to > 1 and pad_id is not None:
            prefix = prefix + [pad_id] * (-len(prefix) % pad_to)
        ids[start:stop] = [prefix + part for part in owns]
    whole = [i for i, encoded in enumerate(ids) if encoded is None]
    for i, encoded in zip(
        whole, encode_texts(tokenizer, [texts[i] for i in whole], special), strict=True
    ):
        ids[i] = encoded
    return [encoded for encoded in ids if encoded is not None]


def chat_texts(
    tokenizer: Any, prompts: Sequence[str], template_kwargs: Mapping[str, Any] | None = None
) -> list[str]:
    """The prompts rendered in the chat template: rendered once around a placeholder and
    filled in, unless that differs from a real rendering of the first prompt."""
    if not prompts:
        return []
    kwargs = template_kwargs or {}
    head, marker, tail = _render(tokenizer, SENTINEL, kwargs).partition(SENTINEL)
    if marker and head + prompts[0] + tail == _render(tokenizer, prompts[0], kwargs):
        return [head + p + tail for p in prompts]
    return [_render(tokenizer, p, kwargs) for p in prompts]


def _render(tokenizer: Any, prompt: str, template_kwargs: Mapping[str, Any]) -> str:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}],
        tokenize=False,
        add_generation_prompt=True,
        **template_kwargs,
    )
    return str(text)


def encode_texts(tokenizer: Any, texts: Sequence[str], special: bool) -> list[list[int]]:
    """Token ids of each text, in one call to the (Rust) batch encoder."""
    if not texts:
        return []
    encoded = tokenizer(list(texts), add_special_tokens=special, return_attention_mask=False)
    return [list(ids) for ids in encoded["input_ids"]]


def encode_distinct(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """`encode_texts` without special tokens, each distinct text once: the parts after a
    sample's shared prefix are mostly its questions, the same for every sample."""
    distinct = list(dict.fromkeys(texts))
    ids = dict(zip(distinct, encode_texts(tokenizer, distinct, False), strict=True))
    return [ids[text] for text in texts]


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
