import pytest

from scorers.checklist.prompt import default_item_template, item_prompts, split_at_question
from scorers.templates import render, template_placeholders


def test_a_samples_prompts_share_everything_before_the_question():
    questions = ["Is it correct?", "Is it concise?", "Is it polite?"]
    prompts = item_prompts(default_item_template(), "What is 2+2?", "4", questions)
    head, _ = split_at_question(default_item_template())
    shared = render(head, {"input": "What is 2+2?", "target": "4"})
    assert all(p.startswith(shared) for p in prompts)
    assert "What is 2+2?" in shared and "4" in shared
    for prompt, question in zip(prompts, questions, strict=True):
        assert question in prompt[len(shared) :]
        assert question not in shared


def test_default_template_uses_exactly_the_item_placeholders():
    assert template_placeholders(default_item_template()) == {"input", "target", "question"}


def test_braces_in_sample_text_are_kept_verbatim():
    prompts = item_prompts("{input}|{target}|{question}", "{json: 1}", "{target}", ["q {x}"])
    assert prompts == ["{json: 1}|{target}|q {x}"]


def test_template_without_question_is_rejected():
    with pytest.raises(ValueError, match="question"):
        split_at_question("{input} {target}")
