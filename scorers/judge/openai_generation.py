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
from typing import Any

from scorers.judge.generation import Generated, answer_step_logprobs, token_starts
from scorers.judge.json_answer import json_object_in
from scorers.judge.openai_reading import (
    TOKEN_ID_PREFIX,
    logprobs_by_id,
    response_steps,
    token_counts,
    token_id,
)


def read_generation(
    response: Any,
    chat: bool,
    values: Sequence[str],
    value_ids: tuple[tuple[int, ...], ...] | None,
    decode: Callable[[int], str],
) -> Generated:
    choice = response.choices[0]
    text = (choice.message.content if chat else choice.text) or ""
    steps = response_steps(choice.logprobs, chat)
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
        ids = [token_id(s.token) for s in steps]
        pieces = [decode(i) for i in ids]
        step_logprobs = answer_step_logprobs((logprobs_by_id(s.top) for s in steps), value_ids)
        ids_per_value = value_ids
    else:
        ids = list(range(len(steps)))
        pieces = [s.token for s in steps]
        step_logprobs = tuple(_by_value(s.top, values) for s in steps)
        ids_per_value = tuple((i,) for i in range(len(values)))
    return Generated(
        token_ids=tuple(ids),
        token_starts=token_starts(pieces),
        step_logprobs=step_logprobs,
        value_ids=ids_per_value,
        aligned_text="".join(pieces),
        **common,
    )


def _by_value(top: Sequence[tuple[str, float]], values: Sequence[str]) -> dict[int, float]:
    """Per answer value (by position), the summed probability of the top-k tokens whose text
    is a non-empty prefix of it, as a log-prob; values without such a token are left out."""
    out = {}
    for index, value in enumerate(values):
        mass = sum(math.exp(lp) for t, lp in top if t and value.lower().startswith(t.lower()))
        if mass > 0:
            out[index] = math.log(mass)
    return out
