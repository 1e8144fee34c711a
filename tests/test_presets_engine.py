"""Every preset in every mode it supports scores every row through the real vLLM CPU engine,
with the primary metric the seed gives the preset (one judge pass over all of them)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline.stages.judge_actor import score_table
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec

pytestmark = pytest.mark.engine

CHECKLIST = [{"question": "Does it answer the question?", "weight": 100}, {"question": "Brief?"}]
MODES: dict[str, dict[str, object]] = {
    "item": {"mode": "item"},
    "item_answer": {"mode": "item", "use_logprobs": False},
    "item_reasoned": {"mode": "item", "capture_reasoning": True},
    "batch": {"mode": "batch"},
    "batch_reasoned": {"mode": "batch", "capture_reasoning": True},
}
# preset -> (the seed's primary metric for it, the modes it supports)
PRESETS = {
    "item": ("pass", ["item", "item_answer", "item_reasoned"]),
    "batch": ("pass", ["batch", "batch_reasoned"]),
    "rlcf": ("weighted", list(MODES)),
    "rocketeval": ("normalized", list(MODES)),
}
METRIC_FIELD = {"pass": "pass_rate", "weighted": "weighted_score", "normalized": "normalized_score"}


def rows() -> pa.Table:
    return pa.table(
        {
            "id": ["a", "b"],
            "prompt": ["What is the capital of France?", "What is 2 + 2?"],
            "response": ["Paris.", "5"],
            "history": ["user: hello\nassistant: hi, ask away", "user: a maths question"],
        }
    )


def spec(preset: str, mode: str) -> ChecklistScorerSpec:
    fields: dict[str, object] = {
        "type": "checklist",
        "key": f"{preset}__{mode}",
        "input_column": "prompt",
        "target_column": "response",
        "checklist": CHECKLIST,
        "scorer_prompt": preset,
        "reasoning_max_chars": 20,
        **MODES[mode],
    }
    if preset == "rocketeval":
        fields["history_column"] = "history"
        if mode == "item_answer":  # normalized is the mean confidence: no log-probs, no mean
            fields["primary_metric"] = "pass"
    return ChecklistScorerSpec.model_validate(fields)


def test_every_preset_scores_every_row_in_every_mode_it_supports(vllm_judge):
    specs = [spec(preset, mode) for preset, (_, modes) in PRESETS.items() for mode in modes]
    out = score_table(rows(), [ChecklistScorer(s) for s in specs], vllm_judge, ["id"])
    assert out["error"].to_pylist() == [None, None]
    for s in specs:
        preset = str(s.scorer_prompt)
        metric = "pass" if s.key == "rocketeval__item_answer" else PRESETS[preset][0]
        for row in out[s.key].to_pylist():
            assert row["unscored_reason"] is None
            assert row["primary_metric"] == metric, s.key
            assert row["primary_score"] == row[METRIC_FIELD[metric]]
            items = row["item_scores"]
            assert [i["question"] for i in items] == [q["question"] for q in CHECKLIST]
            assert all(i["answer"] in ("yes", "no") for i in items)
            assert all((i["confidence"] is None) == (not s.use_logprobs) for i in items)
            assert all((i["reasoning"] is not None) == s.capture_reasoning for i in items)
            requests = 1 if s.mode == "batch" else len(CHECKLIST)
            assert row["usage"]["judge_requests"] == requests, s.key
