"""Every checklist mode puts every question, and the history when there is one, into the prompt
the judge receives: built-in templates and custom prompts alike (the seed's placeholders)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline.spec_loader import SpecError, parse_spec
from scorers.checklist.scorer import ChecklistScorer
from scorers.checklist.spec import ChecklistScorerSpec

QUESTIONS = ["Is the answer correct?", "Is it polite?", "Does it cite a source?"]
HISTORY = "user: hi there / assistant: hello, how can I help"
ROWS = pa.table({"prompt": ["What is 2+2?"], "response": ["It is 4."], "history": [HISTORY]})
MODES = [
    {"mode": "item"},
    {"mode": "item", "capture_reasoning": True},
    {"mode": "batch"},
    {"mode": "batch", "capture_reasoning": True},
]
CUSTOM = {
    "item": "Q: {input}\nA: {target}\nAsk: {question}",
    "batch": "Q: {input}\nA: {target}\nAsk all:\n{questions}",
}


def prompts_sent(spec: ChecklistScorerSpec) -> list[str]:
    prepared = ChecklistScorer(spec).prepare(ROWS)
    return prepared.prompts + [request.prompt for request in prepared.generation]


def spec_of(mode: dict[str, object], **extra: object) -> ChecklistScorerSpec:
    return ChecklistScorerSpec.model_validate(
        {
            "type": "checklist",
            "key": "c",
            "input_column": "prompt",
            "target_column": "response",
            "checklist": [{"question": q} for q in QUESTIONS],
            **mode,
            **extra,
        }
    )


@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize("custom", [False, True], ids=["builtin", "custom_prompt"])
def test_every_question_reaches_the_judge(mode, custom):
    extra = {"custom_prompt": CUSTOM[str(mode["mode"])]} if custom else {}
    prompts = prompts_sent(spec_of(mode, **extra))
    text = "\n".join(prompts)
    for question in QUESTIONS:
        assert question in text
    assert "{question" not in text
    if mode["mode"] == "batch":
        assert len(prompts) == 1
        assert all(f"Q{n}: {q}" in text for n, q in enumerate(QUESTIONS, 1))
    else:
        assert len(prompts) == len(QUESTIONS)


@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize("custom", [False, True], ids=["builtin", "custom_prompt"])
def test_history_reaches_the_judge_in_every_mode(mode, custom):
    extra: dict[str, object] = {"history_column": "history"}
    if custom:
        extra["custom_prompt"] = "{history}\n" + CUSTOM[str(mode["mode"])]
    prompts = prompts_sent(spec_of(mode, **extra))
    assert prompts and all(HISTORY in p for p in prompts)


@pytest.mark.parametrize(
    ("mode", "template", "message"),
    [
        (
            "batch",
            "{target} {question}",
            "template uses {question}; available: input, questions, target",
        ),
        ("batch", "{target}", "template must use {questions}"),
        (
            "item",
            "{target} {questions}",
            "template uses {questions}; available: input, question, target",
        ),
    ],
)
def test_a_custom_prompt_uses_the_placeholders_its_mode_fills(mode, template, message):
    raw = {
        "name": "j",
        "input": {"path": "x.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "judge": {"model": "m/m"},
        "definition": {
            "scorers": [spec_of({"mode": mode}).model_dump() | {"custom_prompt": template}]
        },
    }
    with pytest.raises(SpecError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_spec(raw)


def test_a_custom_prompt_without_history_is_refused_when_history_column_is_set():
    with pytest.raises(ValueError, match=r"template must use \{history\}"):
        spec_of({"mode": "item"}, history_column="history", custom_prompt="{target} {question}")


@pytest.mark.parametrize(
    ("preset", "extra", "marker"),
    [
        ("item", {}, "Answer with Yes or No."),
        ("batch", {"mode": "batch"}, "Questions:"),
        ("rlcf", {}, "Requirement: "),
        ("rocketeval", {"history_column": "history"}, "Checklist item: "),
    ],
)
def test_the_seed_presets_are_picked_by_name(preset, extra, marker):
    prompts = prompts_sent(spec_of({"mode": "item", **extra}, scorer_prompt=preset))
    text = "\n".join(prompts)
    assert marker in text and all(q in text for q in QUESTIONS)
    if preset == "rocketeval":
        assert all(HISTORY in p for p in prompts)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"scorer_prompt": "rocketeval"}, "needs history_column"),
        ({"scorer_prompt": "rlcf", "history_column": "history"}, "has no {history}"),
        ({"scorer_prompt": "batch"}, "does not fit mode 'item'"),
        ({"scorer_prompt": "item", "custom_prompt": "{target} {question}"}, "not both"),
    ],
)
def test_a_preset_that_does_not_fit_is_refused(extra, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        spec_of({"mode": "item"}, **extra)
