"""Judge prompts laid out for the prefix cache: a sample's shared text first, the question last.

All of a sample's item requests share everything before `{question}`, so with automatic
prefix caching the engine computes the request and response once per sample.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from scorers.segments import position_in_segment
from scorers.templates import (
    TEXT,
    prompt_template,
    render,
    render_columns,
    template_placeholders,
)


def default_item_template() -> str:
    return prompt_template("item")


def split_at_question(template: str) -> tuple[str, str]:
    """The template's shared head (up to `{question}`) and its per-item tail."""
    head, marker, tail = template.partition("{question}")
    if not marker:
        raise ValueError("an item template needs a {question} placeholder")
    if "{question}" in tail:
        raise ValueError("an item template uses {question} once")
    return head, marker + tail


def item_prompts(
    template: str,
    input_text: str,
    target: str,
    questions: list[str],
    history: str = "",
) -> list[str]:
    """One prompt per question, each starting with the same rendered sample prefix."""
    head, tail = split_at_question(template)
    shared = {"input": input_text, "target": target, "history": history}
    prefix = render(head, shared)
    return [prefix + render(tail, {**shared, "question": q}) for q in questions]


def item_prompt_texts(
    template: str,
    shared: Mapping[str, pa.Array],
    sample_count: int,
    questions: pa.Array,
    sample_of: np.ndarray,
) -> list[str]:
    """`item_prompts` for a batch: each sample's prefix rendered once from `shared` (one
    entry per sample), then joined to each of its questions (`sample_of[i]`: question i's)."""
    head, tail = split_at_question(template)
    prefixes = render_columns(head, shared, sample_count)
    per_question = {
        name: values.take(sample_of)
        for name, values in shared.items()
        if name in template_placeholders(tail)
    }
    tails = render_columns(tail, {**per_question, "question": questions}, len(sample_of))
    # numpy adds the str objects in C: one copy per prompt, no Arrow copy of the prefixes
    prefix_texts = np.asarray(prefixes.to_pylist(), dtype=object)[sample_of]
    prompts: list[str] = (prefix_texts + np.asarray(tails.to_pylist(), dtype=object)).tolist()
    return prompts


def numbered_questions(questions: pa.Array, counts: np.ndarray) -> pa.Array:
    """Per sample its `counts[r]` questions as "Q1: ...", one per line (batch mode)."""
    numbers = pa.array(position_in_segment(counts) + 1).cast(TEXT)
    numbered = pc.binary_join_element_wise(
        pa.scalar("Q", TEXT), numbers, pa.scalar(": ", TEXT), questions, pa.scalar("", TEXT)
    )
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int64())
    lists = pa.LargeListArray.from_arrays(offsets, numbered)
    return pc.binary_join(lists, pa.scalar("\n", TEXT))
