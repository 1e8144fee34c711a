"""Batch mode and captured reasoning: the judge writes JSON under a regex, we read it back.

Batch mode asks all of a sample's questions in one request (`Q1: ...`, 1-based, as in the
seed) and gets {"answers": [{"question_index", "answer"[, "reasoning"]}]}; item mode with
reasoning gets {"reasoning", "answer"} per item. The regex fixes field order and question
indices, so answers map to items by position; each answer's confidence is read at its
answer token (scorers.judge.generation).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scorers.checklist.checklist_input import SampleInput
from scorers.checklist.response_schemas import batch_schema, item_schema
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
    return answer_requests(sample.item_prompts(prompt_template))


def item_reasoned_requests(
    sample: SampleInput, prompt_template: str, max_chars: int
) -> list[GenerationRequest]:
    return reasoned_requests(sample.item_prompts(prompt_template), max_chars)


def batch_request(
    sample: SampleInput, prompt_template: str, reasoning: bool, max_chars: int
) -> GenerationRequest:
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
    return batch_requests([prompt], [len(sample.items)], reasoning, max_chars)[0]


def answer_requests(prompts: Sequence[str]) -> list[GenerationRequest]:
    regex = r"\{" + _ANSWER + r"\}"
    schema = item_schema(reasoning=False)
    return [GenerationRequest(p, regex, _JSON_PUNCTUATION_TOKENS, schema=schema) for p in prompts]


def reasoned_requests(prompts: Sequence[str], max_chars: int) -> list[GenerationRequest]:
    regex = r"\{" + _reasoning(max_chars) + ", " + _ANSWER + r"\}"
    budget = max_chars + _JSON_PUNCTUATION_TOKENS
    schema = item_schema(reasoning=True)
    return [GenerationRequest(p, regex, budget, schema=schema) for p in prompts]


def batch_requests(
    prompts: Sequence[str], item_counts: Sequence[int], reasoning: bool, max_chars: int
) -> list[GenerationRequest]:
    """One request per sample asking all its questions; one regex per checklist length."""
    schema = batch_schema(reasoning)
    per_item = _JSON_PUNCTUATION_TOKENS + (max_chars if reasoning else 0)
    regexes = {n: _batch_regex(n, reasoning, max_chars) for n in set(item_counts)}
    return [
        GenerationRequest(prompt, regexes[n], 20 + per_item * n, schema=schema)
        for prompt, n in zip(prompts, item_counts, strict=True)
    ]


def _batch_regex(n_items: int, reasoning: bool, max_chars: int) -> str:
    entries = []
    for index in range(1, n_items + 1):
        fields = f'"question_index": {index}, {_ANSWER}'
        if reasoning:
            fields += ", " + _reasoning(max_chars)
        entries.append(r"\{" + fields + r"\}")
    return r'\{"answers": \[' + ", ".join(entries) + r"\]\}"


@dataclass(frozen=True)
class ParsedItem:
    answer: str | None
    confidence: float | None
    reasoning: str | None
    error: str | None
    label_mass: float | None = None  # P(yes) + P(no) where the answer value starts


def read_answers(generated: Generated, n_items: int) -> list[ParsedItem]:
    """n_items answers from one generation (a batch-mode sample or one reasoned item). A
    grammar guarantees the shape; JSON from an endpoint without one is checked here, and an
    answer that does not fit is an error in its row."""
    if generated.error is not None:
        return [ParsedItem(None, None, None, generated.error)] * n_items
    reads = answer_confidences(generated)
    confidences: list[float | None] = [
        read.probs[0] if read.probs is not None else None for read in reads
    ]
    masses = [read.label_mass for read in reads]
    try:
        payload = json.loads(generated.text, strict=False)
        entries = _answer_entries(payload, n_items)
    except ValueError as exc:  # json.JSONDecodeError is one too
        cut = isinstance(exc, json.JSONDecodeError) and not generated.finished
        why = "generation stopped at its token budget" if cut else str(exc)
        reason = f"could not parse the judge's JSON answer ({why}): {generated.text[:80]!r}"
        return [ParsedItem(None, None, None, reason)] * n_items
    if len(confidences) != n_items:  # answers quoted elsewhere in free text: not attributable
        confidences, masses = [None] * n_items, [None] * n_items
    # confidences follow the answers in the text; items follow their question_index
    in_text_order = [
        (position, ParsedItem(answer, confidence, reasoning, None, mass))
        for (position, answer, reasoning), confidence, mass in zip(
            entries, confidences, masses, strict=True
        )
    ]
    return [item for _, item in sorted(in_text_order, key=lambda pair: pair[0])]


def _answer_entries(payload: Any, n_items: int) -> list[tuple[int, str, str | None]]:
    """(item position, answer, reasoning) per answer in the order written, from
    {"answers": [...]} (positions from question_index, 1-based) or one {"answer": ...}."""
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object, got {type(payload).__name__}")
    entries = payload.get("answers", [payload] if "answer" in payload else None)
    if not isinstance(entries, list) or len(entries) != n_items:
        got = len(entries) if isinstance(entries, list) else "no"
        raise ValueError(f"expected {n_items} answer(s), got {got}")
    if not all(isinstance(entry, dict) for entry in entries):
        raise ValueError("an answer is not a JSON object")
    positions = list(range(n_items))
    if n_items > 1 and all("question_index" in entry for entry in entries):
        indices = [entry["question_index"] for entry in entries]
        if sorted(i if type(i) is int else 0 for i in indices) != list(range(1, n_items + 1)):
            raise ValueError(f"question_index values {indices} are not 1..{n_items}")
        positions = [index - 1 for index in indices]
    parsed = []
    for position, entry in zip(positions, entries, strict=True):
        answer = str(entry.get("answer", "")).strip().lower()
        if answer not in ANSWER_VALUES:
            raise ValueError(f"answer {entry.get('answer')!r} is not yes or no")
        reasoning = entry.get("reasoning")
        parsed.append((position, answer, None if reasoning is None else str(reasoning)))
    return parsed
