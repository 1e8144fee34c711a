"""Label-set scorers through the real vLLM CPU engine: distributions checked against logits."""

import pyarrow as pa
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipeline.stages.judge_actor import score_table
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.rating.scorer import RatingScorer
from scorers.rating.spec import BooleanSpec, CategoricalSpec, LikertSpec

pytestmark = pytest.mark.engine
BASE = {"input_column": "prompt", "target_column": "response"}
LONG = " ".join(["The capital of France is Paris, and Paris is also its largest city."] * 20)


def rows() -> pa.Table:
    return pa.table(
        {
            "id": ["a", "b", "c"],
            "prompt": ["What is the capital of France?", "What is 2 + 2?", "Tell me a joke."],
            "response": [LONG, "2 + 2 = 4.", "Why did the chicken cross the road?"],
        }
    )


def label_distribution(model_dir, prompt: str, labels: list[str]) -> list[float]:
    """P(label) renormalised over the labels, every token decoding to a label summed."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        probs = torch.softmax(model(ids).logits[0, -1].double(), dim=-1)
    decoded = {i: tokenizer.decode([i]).strip() for i in range(len(tokenizer))}
    mass = [sum(probs[i].item() for i, t in decoded.items() if t == label) for label in labels]
    return [m / sum(mass) for m in mass]


def test_likert_distribution_equals_the_models_digit_probabilities(vllm_judge, tiny_model):
    scorer = RatingScorer(LikertSpec(type="likert", key="k", question="How helpful is it?", **BASE))
    out = score_table(rows(), [scorer], vllm_judge, ["id"]).to_pylist()
    prompt = scorer.prepare(rows()).prompts[1]
    expected = label_distribution(tiny_model, prompt, ["1", "2", "3", "4", "5"])
    assert out[1]["k"]["distribution"] == pytest.approx(expected, abs=1e-4)
    assert out[1]["k"]["score"] == pytest.approx(
        sum((i + 1) * p for i, p in enumerate(expected)), abs=1e-3
    )


def test_categorical_and_boolean_through_the_engine(vllm_judge, tiny_model):
    cat = RatingScorer(
        CategoricalSpec(
            type="categorical",
            key="c",
            question="Tone?",
            labels=["serious", "funny", "rude"],
            **BASE,
        )
    )
    yes = RatingScorer(BooleanSpec(type="boolean", key="b", question="Is it correct?", **BASE))
    out = score_table(rows(), [cat, yes], vllm_judge, ["id"]).to_pylist()
    prompt = cat.prepare(rows()).prompts[2]
    expected = label_distribution(tiny_model, prompt, ["A", "B", "C"])
    got = [p for _, p in out[2]["c"]["distribution"]]
    assert got == pytest.approx(expected, abs=1e-4)
    assert (
        out[2]["c"]["label"]
        == ["serious", "funny", "rude"][max(range(3), key=expected.__getitem__)]
    )
    for row in out:
        assert 0 <= row["b"]["confidence"] <= 1 and row["b"]["value"] == (
            row["b"]["confidence"] >= 0.5
        )


def test_many_dimensions_of_a_sample_share_its_prefix_in_the_cache(vllm_judge):
    """20 questions about one long sample: the request+response prefix is computed once."""
    questions = [{"question": f"Does the response satisfy criterion {n}?"} for n in range(16)]
    scorers = [
        ChecklistScorer(
            ChecklistScorerSpec(type="checklist", key="chk", checklist=questions, **BASE)
        ),
        RatingScorer(LikertSpec(type="likert", key="lik", question="How helpful?", **BASE)),
        RatingScorer(BooleanSpec(type="boolean", key="boo", question="Is it safe?", **BASE)),
        RatingScorer(
            CategoricalSpec(
                type="categorical", key="cat", question="Tone?", labels=["a", "b"], **BASE
            )
        ),
    ]
    one = rows().slice(0, 1)
    out = score_table(one, scorers, vllm_judge, ["id"]).to_pylist()[0]
    usage = [out[k]["usage"] for k in ("chk", "lik", "boo", "cat")]
    prompt_tokens = sum(u["prompt_tokens"] for u in usage)
    cached = sum(u["cached_prompt_tokens"] for u in usage)
    assert sum(u["judge_requests"] for u in usage) == 19
    # The ~600-token prefix is cached in whole 128-token blocks (512 tokens) for every request
    # after the first: 18 x 512 of ~11.9k prompt tokens.
    assert cached >= 18 * 512
    assert cached > 0.7 * prompt_tokens
