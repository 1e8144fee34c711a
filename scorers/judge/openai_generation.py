"""A generated JSON answer from an OpenAI-compatible response, as the engine's `Generated`.

Each generated token's text and log-probs are lined up as the in-process engine does, so the
answer's confidence is read at the answer token in the same way (scorers.judge.generation):
- a vLLM server asked for `logprob_token_ids` returns "token_id:<id>" tokens: their text is
  decoded with the judge's tokenizer and the answer values' prefix tokens are read by id;
- any other endpoint with log-probs: the top-k tokens whose text starts an answer value
  ("y", "Yes", "no") are summed per value;
- no log-probs: the answers carry no confidence (`without_logprobs`).
The text parsed as JSON is the first JSON object of the reply (fences and prose around it are
dropped); a reply without one stays as it is and fails to parse in its row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scorers.judge.generation import Generated
from scorers.judge.json_answer import json_object_in
from scorers.judge.openai_reading import TOKEN_ID_PREFIX, token_counts


@dataclass(frozen=True)
class Step:
    token: str
    top: list[tuple[str, float]]


def read_generation(
    response: Any,
    chat: bool,
    values: Sequence[str],
    value_ids: tuple[tuple[int, ...], ...] | None,
    decode: Callable[[int], str],
) -> Generated:
    choice = response.choices[0]
    text = (choice.message.content if chat else choice.text) or ""
    steps = _steps(choice.logprobs, chat)
    prompt_tokens, cached_tokens = token_counts(response)
    common: dict[str, Any] = {
        "text": json_object_in(text) or text,
        "finished": choice.finish_reason == "stop",
        "prompt_tokens": prompt_tokens,
        "cached_tokens": cached_tokens,
    }
    if not steps:
        return Generated(
            token_ids=(), token_starts=(), step_logprobs=(), without_logprobs=True, **common
        )
    if value_ids is not None and all(s.token.startswith(TOKEN_ID_PREFIX) for s in steps):
        ids = [_token_id(s.token) for s in steps]
        pieces = [decode(i) for i in ids]
        keep = {t for per_value in value_ids for t in per_value}
        logprobs = [
            {_token_id(t): lp for t, lp in s.top if t.startswith(TOKEN_ID_PREFIX)} for s in steps
        ]
        step_logprobs = tuple({t: lp for t, lp in step.items() if t in keep} for step in logprobs)
        ids_per_value = value_ids
    else:
        ids = list(range(len(steps)))
        pieces = [s.token for s in steps]
        step_logprobs = tuple(_by_value(s.top, values) for s in steps)
        ids_per_value = tuple((i,) for i in range(len(values)))
    return Generated(
        token_ids=tuple(ids),
        token_starts=tuple(_starts(pieces)),
        step_logprobs=step_logprobs,
        value_ids=ids_per_value,
        aligned_text="".join(pieces),
        **common,
    )


def _steps(logprobs: Any, chat: bool) -> list[Step]:
    if logprobs is None:
        return []
    if chat:
        return [
            Step(entry.token, [(t.token, float(t.logprob)) for t in entry.top_logprobs or []])
            for entry in logprobs.content or []
        ]
    tops = logprobs.top_logprobs or []
    return [
        Step(token, [(t, float(v)) for t, v in (tops[i] if i < len(tops) else {}).items()])
        for i, token in enumerate(logprobs.tokens or [])
    ]


def _by_value(top: Sequence[tuple[str, float]], values: Sequence[str]) -> dict[int, float]:
    """Per answer value (by position), the summed probability of the top-k tokens whose text
    is a non-empty prefix of it, as a log-prob; values without such a token are left out."""
    out = {}
    for index, value in enumerate(values):
        mass = sum(math.exp(lp) for t, lp in top if t and value.lower().startswith(t.lower()))
        if mass > 0:
            out[index] = math.log(mass)
    return out


def _token_id(token: str) -> int:
    return int(token[len(TOKEN_ID_PREFIX) :])


def _starts(pieces: Sequence[str]) -> list[int]:
    starts, offset = [], 0
    for piece in pieces:
        starts.append(offset)
        offset += len(piece)
    return starts
