"""The real vLLM CPU engine on the small local model: log-prob maths checked against logits."""

import pytest
import torch
from judge_prompts import PROMPTS
from transformers import AutoModelForCausalLM, AutoTokenizer

from scorers.judge.labels import YES_NO

pytestmark = pytest.mark.engine


def reference_confidences(model_dir, prompts):
    """P(yes)/(P(yes)+P(no)) from a plain transformers forward pass, label ids found by
    scanning the whole vocabulary for tokens that decode to yes/no in any case."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    decoded = {i: tokenizer.decode([i]).strip().lower() for i in range(len(tokenizer))}
    yes = [i for i, text in decoded.items() if text == "yes"]
    no = [i for i, text in decoded.items() if text == "no"]
    out = []
    for prompt in prompts:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            probs = torch.softmax(model(ids).logits[0, -1].double(), dim=-1)
        p_yes, p_no = probs[yes].sum().item(), probs[no].sum().item()
        out.append(p_yes / (p_yes + p_no))
    return out


def test_confidence_equals_p_yes_over_p_yes_plus_p_no_from_the_logits(vllm_judge, tiny_model):
    results = vllm_judge.judge(PROMPTS, YES_NO)
    expected = reference_confidences(tiny_model, PROMPTS)
    got = [r.probs[0] for r in results]
    assert got == pytest.approx(expected, abs=1e-4)
    assert len({round(c, 3) for c in got}) > 1  # the prompts really differ
    assert all(r.error is None and r.prompt_tokens > 0 for r in results)


def test_every_spelling_of_each_label_is_read(vllm_judge):
    yes_ids, no_ids = vllm_judge.label_ids(YES_NO)
    tokenizer = vllm_judge.tokenizer
    assert {tokenizer.decode([i]) for i in yes_ids} >= {"Yes", " Yes"}
    assert {tokenizer.decode([i]) for i in no_ids} >= {"No", " No"}


def test_the_same_requests_give_identical_confidences(vllm_judge):
    first = [r.probs for r in vllm_judge.judge(PROMPTS, YES_NO)]
    second = [r.probs for r in vllm_judge.judge(PROMPTS, YES_NO)]
    alone = [vllm_judge.judge([p], YES_NO)[0].probs for p in PROMPTS]
    assert first == second
    for a, b in zip(first, alone, strict=True):
        assert a == pytest.approx(b, abs=1e-5)


def test_an_over_long_prompt_fails_alone(vllm_judge):
    long_prompt = "word " * 3000
    results = vllm_judge.judge([PROMPTS[0], long_prompt, PROMPTS[1]], YES_NO)
    assert results[0].probs is not None and results[2].probs is not None
    assert results[1].probs is None
    assert "max_model_len is 1024" in results[1].error


def test_batches_from_two_threads_share_the_engine_and_keep_their_answers(vllm_judge):
    from concurrent.futures import ThreadPoolExecutor

    batches = [PROMPTS, list(reversed(PROMPTS)), PROMPTS[:2]]
    alone = [[r.probs[0] for r in vllm_judge.judge(b, YES_NO)] for b in batches]
    with ThreadPoolExecutor(3) as pool:
        together = list(
            pool.map(lambda b: [r.probs[0] for r in vllm_judge.judge(b, YES_NO)], batches)
        )
    for got, expected in zip(together, alone, strict=True):
        assert got == pytest.approx(expected, abs=1e-5)


def test_a_padded_shared_prefix_is_cached_whole(vllm_judge):
    from scorers.checklist.prompt import default_item_template, item_prompts

    response = " ".join(["The capital of France is Paris."] * 40)
    questions = ["Correct?", "Short?", "Polite?", "Any errors?"]
    block = vllm_judge.pad_to

    def judged(prompts, padded):
        vllm_judge.prefix_padding = padded
        try:
            ids = vllm_judge.encode(prompts)
            return vllm_judge.judge(prompts, YES_NO), common_length(ids[0], ids[1])
        finally:
            vllm_judge.prefix_padding = False

    template = default_item_template()
    plain, plain_shared = judged(item_prompts(template, "Capital?", response, questions), False)
    assert plain_shared % block  # else this sample proves nothing
    # the same sample again would be all cached: another request text, same layout
    padded, padded_shared = judged(item_prompts(template, "Capital??", response, questions), True)
    assert padded_shared % block == 0
    assert all(r.cached_tokens < plain_shared for r in plain[1:])  # its last block recomputed
    assert all(r.cached_tokens >= padded_shared for r in padded[1:])  # nothing recomputed
    assert all(r.error is None for r in plain + padded)


def common_length(a, b):
    return next((n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
