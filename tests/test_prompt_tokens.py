"""Judge prompts as token ids: a sample's questions share its prefix's tokens exactly, the
same ids as tokenizing each prompt whole; padding ends the shared part on a block boundary."""

from __future__ import annotations

from typing import Any

import pytest
from transformers import AutoTokenizer

from jobs.demo.demo_data import demo_rows
from scorers.checklist.prompt import default_item_template, item_prompts
from scorers.judge.prompt_tokens import (
    chat_texts,
    common_prefix_length,
    encode_prompts,
    shared_runs,
)

# distinct first words: a sample's prompts share nothing after the template's "Question:"
QUESTIONS = ["Correct?", "Short?", "Does it answer the question?", "Any errors?"]


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return AutoTokenizer.from_pretrained(tiny_model)


def checklist_prompts(samples: int) -> list[str]:
    rows = [r for r in demo_rows() if r["response"]][:samples]
    template = default_item_template()
    return [p for r in rows for p in item_prompts(template, r["prompt"], r["response"], QUESTIONS)]


def whole(tokenizer: Any, prompts: list[str]) -> list[list[int]]:
    """Each prompt tokenized on its own, in the chat template: the reference."""
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    return [tokenizer.encode(t, add_special_tokens=False) for t in texts]


def common_prefix_length_ids(a: list[int], b: list[int]) -> int:
    return next((n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))


def test_a_samples_prompts_share_the_same_prefix_ids_as_whole_tokenization(tokenizer):
    prompts = checklist_prompts(30)
    ids = encode_prompts(tokenizer, prompts, use_chat_template=True)
    assert ids == whole(tokenizer, prompts)
    for start in range(0, len(ids), len(QUESTIONS)):
        sample = ids[start : start + len(QUESTIONS)]
        shared = min(common_prefix_length_ids(sample[0], other) for other in sample[1:])
        assert tokenizer.decode(sample[0][:shared]).endswith("</response>\n\nQuestion:")


def test_plain_text_prompts_keep_the_tokenizers_special_tokens_at_the_start(tokenizer):
    prompts = checklist_prompts(3)
    ids = encode_prompts(tokenizer, prompts, use_chat_template=False)
    assert ids == [tokenizer.encode(p) for p in prompts]


def test_runs_follow_samples_not_the_template_they_all_share():
    prompts = [*checklist_prompts(5), "a lone prompt"]
    runs = shared_runs(prompts)
    assert [(start, stop) for start, stop, _ in runs] == [
        *((n, n + len(QUESTIONS)) for n in range(0, 20, len(QUESTIONS))),
        (20, 21),
    ]
    for start, stop, shared in runs[:-1]:
        assert prompts[start][:shared] == prompts[stop - 1][:shared]
        assert prompts[start][shared:].startswith("Correct?")
    assert runs[-1][2] == 0


def test_padding_ends_the_shared_part_on_a_block_boundary(tokenizer):
    prompts = checklist_prompts(8)
    pad = tokenizer.encode(" ", add_special_tokens=False)[-1]
    plain = encode_prompts(tokenizer, prompts, True)
    padded = encode_prompts(tokenizer, prompts, True, pad_to=32, pad_id=pad)
    assert padded != plain
    for start in range(0, len(prompts), len(QUESTIONS)):
        sample = plain[start : start + len(QUESTIONS)]
        shared = min(common_prefix_length_ids(sample[0], other) for other in sample[1:])
        pads = [pad] * (-shared % 32)
        for got, reference in zip(padded[start : start + len(QUESTIONS)], sample, strict=True):
            assert got == reference[:shared] + pads + reference[shared:]


class FakeTokenizerWithPrefixSpace:
    """A fake tokenizer (no model) that starts every text it encodes with a marker, as a
    SentencePiece prefix space does: a split encoding would put the marker in the middle, so
    the run must be tokenized prompt by prompt."""

    START = 999

    def __call__(self, texts: list[str], **_: Any) -> dict[str, list[list[int]]]:
        return {"input_ids": [[self.START] + [ord(c) for c in t] for t in texts]}


def test_a_run_falls_back_to_whole_tokenization_when_the_split_would_differ(tokenizer):
    fake = FakeTokenizerWithPrefixSpace()
    fake.backend_tokenizer = tokenizer.backend_tokenizer  # type: ignore[attr-defined]
    prompts = checklist_prompts(2)
    ids = encode_prompts(fake, prompts, use_chat_template=False)
    assert ids == fake(prompts)["input_ids"]
    assert all(encoded.count(fake.START) == 1 for encoded in ids)


class TrimmingChatTemplate:
    """A fake tokenizer whose chat template strips the content: filling a rendered
    placeholder would keep the spaces, so every prompt is rendered."""

    def apply_chat_template(self, messages: list[dict[str, str]], **_: Any) -> str:
        return f"<user>{messages[0]['content'].strip()}</user>"


def test_chat_templates_that_change_the_content_are_rendered_per_prompt():
    assert chat_texts(TrimmingChatTemplate(), ["  a  ", "b "]) == [
        "<user>a</user>",
        "<user>b</user>",
    ]


def test_common_prefix_length():
    assert common_prefix_length("abcdef", "abcxyz") == 3
    assert common_prefix_length("abc", "abc") == 3
    assert common_prefix_length("", "abc") == 0
    assert common_prefix_length("xbc", "abc") == 0


def test_each_distinct_part_after_the_shared_prefix_is_tokenized_once():
    from scorers.judge.prompt_tokens import encode_distinct

    seen: list[list[str]] = []

    def tokenizer(texts, add_special_tokens, return_attention_mask):
        seen.append(list(texts))
        return {"input_ids": [[len(t), ord(t[0])] for t in texts]}

    parts = [" Is it right?", " Short?", " Is it right?", " Short?", " Kind?"]
    assert encode_distinct(tokenizer, parts) == [[len(p), ord(p[0])] for p in parts]
    assert seen == [[" Is it right?", " Short?", " Kind?"]]
