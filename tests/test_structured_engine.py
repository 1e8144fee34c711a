"""Batch mode and captured reasoning through the real vLLM CPU engine (constrained JSON)."""

import pyarrow as pa
import pytest
import torch
from transformers import AutoModelForCausalLM

from pipeline.stages.judge_actor import score_table
from scorers.checklist.checklist_input import SampleInput
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistItem, ChecklistScorerSpec
from scorers.checklist.structured import ANSWER_VALUES, item_reasoned_requests, read_answers
from scorers.judge.generation import ANSWER_VALUE
from scorers.templates import prompt_template

pytestmark = pytest.mark.engine
QUESTIONS = [{"question": "Does it answer the question?"}, {"question": "Is it correct?"}]


def rows() -> pa.Table:
    return pa.table(
        {
            "id": ["a", "b"],
            "prompt": ["What is the capital of France?", "What is 2 + 2?"],
            "response": ["Paris.", "5"],
        }
    )


def scorer(**options) -> ChecklistScorer:
    return ChecklistScorer(
        ChecklistScorerSpec(
            type="checklist",
            key="q",
            input_column="prompt",
            target_column="response",
            checklist=QUESTIONS,
            reasoning_max_chars=60,
            **options,
        )
    )


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "item", "capture_reasoning": True},
        {"mode": "batch"},
        {"mode": "batch", "capture_reasoning": True},
    ],
)
def test_every_structured_mode_scores_every_item(vllm_judge, options):
    out = score_table(rows(), [scorer(**options)], vllm_judge, ["id"]).to_pylist()
    for row in out:
        assert row["error"] is None, row["error"]
        items = row["q"]["item_scores"]
        assert [i["question"] for i in items] == [q["question"] for q in QUESTIONS]
        for item in items:
            assert item["answer"] in ("yes", "no")
            assert 0 <= item["confidence"] <= 1
            assert item["confidence_level"] is not None
            if options.get("capture_reasoning"):
                assert isinstance(item["reasoning"], str) and len(item["reasoning"]) <= 60
            else:
                assert item["reasoning"] is None
        expected_requests = 1 if options["mode"] == "batch" else len(QUESTIONS)
        assert row["q"]["usage"]["judge_requests"] == expected_requests


def test_reasoned_confidence_equals_the_models_answer_step_probabilities(vllm_judge, tiny_model):
    sample = SampleInput("What is 2 + 2?", "5", (ChecklistItem(question="Is it correct?"),))
    request = item_reasoned_requests(sample, prompt_template("item_reasoned"), 60)[0]
    generated = vllm_judge.generate([request], ANSWER_VALUES)[0]
    match = ANSWER_VALUE.search(generated.aligned_text)
    step = generated.token_starts.index(match.end())
    prompt_ids = vllm_judge.encode([request.prompt])[0]
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    ids = torch.tensor([prompt_ids + list(generated.token_ids[:step])])
    with torch.no_grad():
        probs = torch.softmax(model(ids).logits[0, -1].double(), dim=-1)
    yes_ids, no_ids = vllm_judge.value_ids(ANSWER_VALUES)
    p_yes, p_no = probs[list(yes_ids)].sum().item(), probs[list(no_ids)].sum().item()
    (item,) = read_answers(generated, 1)  # how the checklist reads a reasoned item's answer
    assert item.confidence == pytest.approx(p_yes / (p_yes + p_no), abs=1e-4)
