"""Prompts the engine tests share: two item prompts of one sample, two free-form ones."""

from scorers.checklist.prompt import default_item_template, item_prompts

PROMPTS = [
    *item_prompts(
        default_item_template(),
        "What is the capital of France?",
        "The capital of France is Paris.",
        ["Does the response answer the question?", "Is the response free of factual errors?"],
    ),
    "Is 17 + 25 = 42?\nAnswer with Yes or No.",
    "Reply yes or no: is the sky green?",
]
