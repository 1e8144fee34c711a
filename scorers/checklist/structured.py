"""Batch mode and captured reasoning: the judge writes JSON under a regex, we read it back.

Batch mode asks all of a sample's questions in one request (`Q1: ...`, 1-based, as in the
seed) and gets {"answers": [{"question_index", "answer"[, "reasoning"]}]}; item mode with
reasoning gets {"reasoning", "answer"} per item. The regex fixes field order and question
indices, so answers map to items by position; each answer's confidence is read at its
answer token (scorers.judge.generation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from scorers.checklist.checklist_input import SampleInput
from scorers.judge.generation import Generated, GenerationRequest, answer_confidences
from scorers.templates import render

ANSWER_VALUES = ("yes", "no")
_ANSWER = '"answer": "(yes|no)"'
_JSON_PUNCTUATION_TOKENS = 40


def _reasoning(max_chars: int) -> str:
    """A JSON string of at most max_chars: no quote, backslash or control character."""
    return '"reasoning": "[^"\\\\\\x00-\\x1f]{0,' + str(max_chars) + '}"'


def item_answer_requests(sample: SampleInput, prompt_template: str) -> list[GenerationRequest]:
    """Item mode without log-probs: the answer as JSON text, {"answer": "yes"|"no"}."""
    regex = r"\{" + _ANSWER + r"\}"
    prompts = sample.item_prompts(prompt_template)
    return [
        GenerationRequest(prompt=p, regex=regex, max_tokens=_JSON_PUNCTUATION_TOKENS)
        for p in prompts
    ]


def item_reasoned_requests(
    sample: SampleInput, prompt_template: str, max_chars: int
) -> list[GenerationRequest]:
    regex = r"\{" + _reasoning(max_chars) + ", " + _ANSWER + r"\}"
    prompts = sample.item_prompts(prompt_template)
    budget = max_chars + _JSON_PUNCTUATION_TOKENS
    return [GenerationRequest(prompt=p, regex=regex, max_tokens=budget) for p in prompts]


def batch_request(
    sample: SampleInput, prompt_template: str, reasoning: bool, max_chars: int
) -> GenerationRequest:
    entries = []
    for index in range(1, len(sample.items) + 1):
        fields = f'"question_index": {index}, {_ANSWER}'
        if reasoning:
            fields += ", " + _reasoning(max_chars)
        entries.append(r"\{" + fields + r"\}")
    regex = r'\{"answers": \[' + ", ".join(entries) + r"\]\}"
    questions = "\n".join(f"Q{n}: {item.question}" for n, item in enumerate(sample.items, 1))
    prompt = render(
        prompt_template,
        {
            "input": sample.input_text,
            "target": sample.target,
            "history": sample.history,
            "questions": questions,
        },
    )
    per_item = _JSON_PUNCTUATION_TOKENS + (max_chars if reasoning else 0)
    return GenerationRequest(
        prompt=prompt, regex=regex, max_tokens=20 + per_item * len(sample.items)
    )


@dataclass(frozen=True)
class ParsedItem:
    answer: str | None
    confidence: float | None
    reasoning: str | None
    error: str | None


def read_answers(generated: Generated, n_items: int) -> list[ParsedItem]:
    """n_items answers from one generation (a batch-mode sample or one reasoned item)."""
    if generated.error is not None:
        return [ParsedItem(None, None, None, generated.error)] * n_items
    try:
        payload = json.loads(generated.text, strict=False)
    except json.JSONDecodeError as exc:
        why = "generation stopped at its token budget" if not generated.finished else str(exc)
        reason = f"could not parse the judge's JSON answer ({why}): {generated.text[:80]!r}"
        return [ParsedItem(None, None, None, reason)] * n_items
    entries = payload.get("answers", [payload])
    confidences = answer_confidences(generated)
    items = []
    for entry, read in zip(entries, confidences, strict=True):
        confidence = read.probs[0] if read.probs is not None else None
        items.append(ParsedItem(entry["answer"], confidence, entry.get("reasoning"), None))
    return items
