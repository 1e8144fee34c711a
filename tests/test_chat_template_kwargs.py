"""judge.chat_template_kwargs reach the chat template: the tokenizer's on the vllm backend (the
tiny model's tokenizer given a template that reads `enable_thinking`, as Qwen3's does), the
request on the openai backend (a FAKE server records it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import ENGINE_KWARGS
from fake_openai_server import FakeOpenAIServer
from transformers import AutoTokenizer

from scorers.judge.labels import YES_NO
from scorers.judge.openai_judge import OpenAIJudge
from scorers.judge.prompt_tokens import chat_texts, encode_prompts
from scorers.judge.vllm_spec import VllmJudgeSpec

THINKING_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n"
    "{% if enable_thinking is not defined or enable_thinking %}<think>\n{% endif %}{% endif %}"
)
NO_THINKING = {"enable_thinking": False}
PROMPTS = ["Is the sky blue?\nAnswer Yes or No.", "Is the sky green?\nAnswer Yes or No."]


@pytest.fixture(scope="module")
def thinking_model(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a chat template that opens a thinking block unless told not to."""
    copy = tmp_path_factory.mktemp("models") / "thinking-judge"
    shutil.copytree(tiny_model, copy)
    (copy / "chat_template.jinja").write_text(THINKING_TEMPLATE)
    config = json.loads((copy / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    return copy


@pytest.fixture(scope="module")
def tokenizer(thinking_model: Path) -> Any:
    return AutoTokenizer.from_pretrained(thinking_model)


def whole(tokenizer: Any, prompt: str, **kwargs: Any) -> list[int]:
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True, **kwargs
    )
    return list(tokenizer.encode(text, add_special_tokens=False))


def test_the_template_opens_a_thinking_block_unless_told_not_to(tokenizer):
    assert all(t.endswith("<|assistant|>\n<think>\n") for t in chat_texts(tokenizer, PROMPTS))
    told = chat_texts(tokenizer, PROMPTS, NO_THINKING)
    assert all(t.endswith("<|assistant|>\n") and "<think>" not in t for t in told)


def test_encoded_prompts_are_the_template_rendered_with_the_kwargs(tokenizer):
    ids = encode_prompts(tokenizer, PROMPTS, True, template_kwargs=NO_THINKING)
    assert ids == [whole(tokenizer, p, enable_thinking=False) for p in PROMPTS]
    assert ids != encode_prompts(tokenizer, PROMPTS, True)


def test_kwargs_without_a_chat_template_are_refused_naming_both_keys():
    with pytest.raises(ValueError, match=r"chat_template_kwargs .*chat_template is 'never'"):
        VllmJudgeSpec(model="m", chat_template="never", chat_template_kwargs=NO_THINKING)


def test_the_vllm_spec_hands_the_kwargs_to_its_judge(monkeypatch):
    built: dict[str, Any] = {}
    monkeypatch.setattr(
        "scorers.judge.vllm_judge.VllmJudge", lambda *a, **kw: built.update(kw) or "judge"
    )
    spec = VllmJudgeSpec(model="m", chat_template_kwargs=NO_THINKING)
    assert spec.build() == "judge"
    assert built["chat_template_kwargs"] == NO_THINKING


def sent_bodies(path: str, **judge: Any) -> list[dict[str, Any]]:
    """What one OpenAIJudge with these settings sent to `path` for one prompt."""
    with FakeOpenAIServer() as server:
        OpenAIJudge("m", server.url, backoff_base_s=0.01, tokenizer="server", **judge).judge(
            ["q"], YES_NO
        )
        return server.bodies(path)


def test_the_openai_backend_sends_them_on_chat_requests_only():
    chat = "/v1/chat/completions"
    told = sent_bodies(chat, chat_template_kwargs=NO_THINKING)
    assert told and all(body["chat_template_kwargs"] == NO_THINKING for body in told)
    assert not any("chat_template_kwargs" in body for body in sent_bodies(chat))
    plain = sent_bodies("/v1/completions", chat_template="never", chat_template_kwargs=NO_THINKING)
    assert plain and not any("chat_template_kwargs" in body for body in plain)


@pytest.mark.engine
def test_the_engine_reads_the_prompt_the_kwargs_rendered(thinking_model, tokenizer):
    judge = VllmJudgeSpec(
        model=str(thinking_model), engine_kwargs=ENGINE_KWARGS, chat_template_kwargs=NO_THINKING
    ).build()
    results = judge.judge(PROMPTS, YES_NO)
    assert [r.prompt_tokens for r in results] == [
        len(whole(tokenizer, p, enable_thinking=False)) for p in PROMPTS
    ]
    assert all(r.probs is not None for r in results)
