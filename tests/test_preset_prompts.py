"""Every preset's prompt, in every mode it supports, has the placeholders that mode fills and
asks for exactly what the judge's grammar lets it write; the README's table is the presets'."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

from scorers.checklist.presets import PRESETS
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec
from scorers.templates import template_placeholders

# What the judge writes in each supported (preset, config): the seed's presets in every mode
VARIANTS: dict[str, dict[str, object]] = {
    "item": {"mode": "item"},
    "item_answer": {"mode": "item", "use_logprobs": False, "primary_metric": "pass"},
    "item_reasoned": {"mode": "item", "capture_reasoning": True},
    "batch": {"mode": "batch"},
    "batch_reasoned": {"mode": "batch", "capture_reasoning": True},
}
SUPPORTED = {
    "item": ["item", "item_answer", "item_reasoned"],
    "batch": ["batch", "batch_reasoned"],
    "rlcf": list(VARIANTS),
    "rocketeval": list(VARIANTS),
}
HISTORY = {"optional": [False, True], "required": [True], "refused": [False]}
# The default prompts' texts are kept as they were, so that their scores do not move:
LOOSE = {
    ("item", "item_answer"): 'item.md says "Answer with Yes or No"; the grammar writes JSON',
    ("batch", "batch_reasoned"): "batch.md's JSON example has no reasoning field",
}
ROWS = pa.table({"prompt": ["What is 2+2?"], "response": ["4"], "history": ["user: hi"]})


def cases(loose_fail: bool) -> list[object]:
    out = []
    for preset, variants in SUPPORTED.items():
        for variant in variants:
            for history in HISTORY[PRESETS[preset].history]:
                marks = []
                if loose_fail and (preset, variant) in LOOSE:
                    marks = [pytest.mark.xfail(reason=LOOSE[preset, variant], strict=True)]
                name = f"{preset}-{variant}" + ("-history" if history else "")
                out.append(pytest.param(preset, variant, history, id=name, marks=marks))
    return out


def spec_for(preset: str, variant: str, history: bool) -> ChecklistScorerSpec:
    return ChecklistScorerSpec.model_validate(
        {
            "type": "checklist",
            "key": "c",
            "input_column": "prompt",
            "target_column": "response",
            "checklist": [{"question": "Is it right?"}],
            "scorer_prompt": preset,
            "reasoning_max_chars": 20,
            **({"history_column": "history"} if history else {}),
            **VARIANTS[variant],
        }
    )


def test_the_supported_modes_are_the_presets():
    assert {name: list(PRESETS[name].templates) for name in PRESETS} == SUPPORTED
    for name, variants in SUPPORTED.items():
        for variant in set(VARIANTS) - set(variants):
            with pytest.raises(ValueError, match=f"scorer_prompt '{name}' does not fit mode"):
                spec_for(name, variant, history=name == "rocketeval")


@pytest.mark.parametrize(("preset", "variant", "history"), cases(loose_fail=False))
def test_each_variant_has_the_placeholders_its_mode_fills(preset, variant, history):
    spec = spec_for(preset, variant, history)
    question = "questions" if spec.mode == "batch" else "question"
    expected = {"input", "target", question} | ({"history"} if history else set())
    assert template_placeholders(spec.prompt_text()) == expected


@pytest.mark.parametrize(("preset", "variant", "history"), cases(loose_fail=True))
def test_each_variant_asks_for_what_its_grammar_generates(preset, variant, history):
    prepared = ChecklistScorer(spec_for(preset, variant, history)).prepare(ROWS)
    if variant == "item":  # one token read from the label log-probs: no JSON asked for
        assert not prepared.generation
        assert "{" not in prepared.prompts[0] and "Yes or No" in prepared.prompts[0]
        return
    request = prepared.generation[0]
    asked = request.prompt.rstrip().splitlines()[-1]
    example = asked[asked.index("{") :].replace(", ...]", "]")  # a batch example's one entry
    json.loads(example)
    assert re.fullmatch(request.regex, example), (example, request.regex)


HISTORY_NOTE = {
    "optional": "",
    "required": "; needs `history_column`",
    "refused": "; no `history_column`",
}


def readme_table() -> str:
    """The README's preset table, written from PRESETS."""
    rows = ["| `scorer_prompt` | prompt | defaults | modes |", "|---|---|---|---|"]
    for name, preset in PRESETS.items():
        template = f"`{next(iter(preset.templates.values()))}.md`"
        defaults = ", ".join(f"`{k}: {str(v).lower()}`" for k, v in preset.defaults.items())
        modes = ", ".join(preset.modes) + HISTORY_NOTE[preset.history]
        rows.append(f"| `{name}` | {template}: {preset.prompt} | {defaults} | {modes} |")
    return "\n".join(rows)


def test_the_readme_lists_the_presets_as_the_code_has_them():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert readme_table() in readme, "README's preset table should read:\n" + readme_table()
