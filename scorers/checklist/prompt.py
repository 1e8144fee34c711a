"""Judge prompts laid out for the prefix cache: a sample's shared text first, the question last.

All of a sample's item requests share everything before `{question}`, so with automatic
prefix caching the engine computes the request and response once per sample.
"""

from __future__ import annotations

from scorers.templates import prompt_template, render


def default_item_template() -> str:
    return prompt_template("item")


def split_at_question(template: str) -> tuple[str, str]:
    """The template's shared head (up to `{question}`) and its per-item tail."""
    head, marker, tail = template.partition("{question}")
    if not marker:
        raise ValueError("an item template needs a {question} placeholder")
    if "{question}" in tail:
        raise ValueError("an item template uses {question} once")
    return head, marker + tail


def item_prompts(
    template: str,
    input_text: str,
    target: str,
    questions: list[str],
    history: str = "",
) -> list[str]:
    """One prompt per question, each starting with the same rendered sample prefix."""
    head, tail = split_at_question(template)
    shared = {"input": input_text, "target": target, "history": history}
    prefix = render(head, shared)
    return [prefix + render(tail, {**shared, "question": q}) for q in questions]
