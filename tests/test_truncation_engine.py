"""The context policy through the real vLLM CPU engine on the small model (max_model_len 1024):
`truncate` keeps the expected tokens of the judge's own tokenizer and a sample longer than the
context is scored. (The KV-cache refusal is tested through a whole job: test_context_job.)"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from pipeline.stages.judge_actor import score_table
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.judge.result import PROMPT_TOO_LONG
from scorers.judged import prepare_batch
from scorers.registry import judged_scorer
from scorers.truncation import MIDDLE_MARKER

pytestmark = pytest.mark.engine

LONG = " ".join(f"point {i} holds." for i in range(300))  # well over 1024 tokens
MAX_TOKENS = 200


def rows() -> pa.Table:
    return pa.table({"id": ["long", "short"], "prompt": ["Say it."] * 2, "response": [LONG, "Ok."]})


def checklist(**truncate: Any) -> ChecklistScorerSpec:
    return ChecklistScorerSpec(
        type="checklist",
        key="quality",
        input_column="prompt",
        target_column="response",
        checklist=[{"question": "Is it right?"}, {"question": "Is it short?"}],
        truncate={"column": "response", "max_tokens": MAX_TOKENS, **truncate} if truncate else None,
    )


def kept_text(tokenizer: Any, side: str) -> tuple[str, int]:
    """What the side keeps of LONG, decoded from the judge's token ids, and how many of them."""
    ids = tokenizer.encode(LONG, add_special_tokens=False)
    if side == "right":
        return tokenizer.decode(ids[:MAX_TOKENS]), MAX_TOKENS
    if side == "left":
        return tokenizer.decode(ids[-MAX_TOKENS:]), MAX_TOKENS
    kept = MAX_TOKENS - len(tokenizer.encode(MIDDLE_MARKER, add_special_tokens=False))
    head, tail = (kept + 1) // 2, kept // 2
    return tokenizer.decode(ids[:head]) + MIDDLE_MARKER + tokenizer.decode(ids[-tail:]), kept


@pytest.mark.parametrize("side", ["right", "left", "middle"])
def test_each_side_keeps_the_expected_tokens_and_the_long_sample_is_scored(vllm_judge, side):
    scorer = judged_scorer(checklist(side=side))
    expected, kept = kept_text(vllm_judge.tokenizer, side)
    prompts = prepare_batch(scorer, rows(), vllm_judge).prompts
    assert expected in prompts[0] and LONG not in prompts[0]
    out = score_table(rows(), [scorer], vllm_judge, ["id"]).to_pylist()
    long, short = out[0]["quality"], out[1]["quality"]
    assert long["unscored_reason"] is None and out[0]["error"] is None
    assert all(item["confidence"] is not None for item in long["item_scores"])
    total = len(vllm_judge.tokenizer.encode(LONG, add_special_tokens=False))
    assert (long["truncated"], long["truncated_tokens"]) == (True, total - kept)
    assert (short["truncated"], short["truncated_tokens"]) == (False, 0)


def test_without_truncate_the_long_sample_is_unscored_for_length(vllm_judge):
    out = score_table(rows(), [judged_scorer(checklist())], vllm_judge, ["id"]).to_pylist()
    reason = out[0]["quality"]["unscored_reason"]
    assert reason.startswith("2 of 2 items unscored") and PROMPT_TOO_LONG.search(reason)
    assert out[1]["quality"]["unscored_reason"] is None
