"""The seed's scorer presets: each `scorer_prompt` is a prompt family plus the config it implies.

A preset fills `mode`, `primary_metric` and `use_logprobs` where the spec leaves them out
(the spec's own values win), and names one template per variant the grammar can ask for, so
every mode a preset supports gets a prompt that asks for exactly what the judge must write:
one token (item mode with log-probs) or the JSON of scorers.checklist.structured. A mode
without templates is one the preset does not support. The README's preset table is this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# What the judge writes, and so which template: one token, or JSON (see structured.py).
Variant = Literal["item", "item_answer", "item_reasoned", "batch", "batch_reasoned"]
HistoryUse = Literal["optional", "required", "refused"]


@dataclass(frozen=True)
class Preset:
    prompt: str  # what the prompt asks, for the README
    defaults: Mapping[str, Any]
    history: HistoryUse  # optional: `<template>_history` when history_column is set
    templates: Mapping[Variant, str]

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(variant.split("_")[0] for variant in self.templates))

    def template_name(self, variant: Variant, with_history: bool) -> str:
        name = self.templates[variant]
        return f"{name}_history" if with_history and self.history == "optional" else name


PRESETS: Mapping[str, Preset] = {
    "item": Preset(
        prompt="one yes/no question about the response",
        defaults={"mode": "item"},
        history="optional",
        # item_answer reuses item.md ("Answer with Yes or No"), its text kept as it was
        templates={"item": "item", "item_answer": "item", "item_reasoned": "item_reasoned"},
    ),
    "batch": Preset(
        prompt="all questions, numbered Q1..Qn, one JSON answer",
        defaults={"mode": "batch"},
        history="optional",
        # batch_reasoned reuses batch.md (its JSON example has no reasoning), kept as it was
        templates={"batch": "batch", "batch_reasoned": "batch"},
    ),
    "rlcf": Preset(
        prompt="does the response fully satisfy a requirement of the instruction",
        defaults={"mode": "item", "primary_metric": "weighted"},
        history="refused",
        templates={
            "item": "rlcf",
            "item_answer": "rlcf_answer",
            "item_reasoned": "rlcf_reasoned",
            "batch": "rlcf_batch",
            "batch_reasoned": "rlcf_batch_reasoned",
        },
    ),
    "rocketeval": Preset(
        prompt="is a checklist item satisfied by the reply in a multi-turn conversation",
        defaults={"mode": "item", "use_logprobs": True, "primary_metric": "normalized"},
        history="required",
        templates={
            "item": "rocketeval",
            "item_answer": "rocketeval_answer",
            "item_reasoned": "rocketeval_reasoned",
            "batch": "rocketeval_batch",
            "batch_reasoned": "rocketeval_batch_reasoned",
        },
    ),
}


def variant_of(mode: str, capture_reasoning: bool, use_logprobs: bool) -> Variant:
    """What the judge writes for this config, as ChecklistScorer.prepare asks for it."""
    if mode == "batch":
        return "batch_reasoned" if capture_reasoning else "batch"
    if capture_reasoning:
        return "item_reasoned"
    return "item" if use_logprobs else "item_answer"


def with_preset_defaults(data: Any) -> Any:
    """Raw spec data with its preset's defaults under the keys it does not set itself."""
    if not isinstance(data, dict):
        return data
    name = data.get("scorer_prompt")
    if not isinstance(name, str) or name not in PRESETS:
        return data  # no preset, or one the field's own validation refuses
    return {**PRESETS[name].defaults, **data}


def preset_problem(name: str, mode: str, has_history: bool) -> str | None:
    """Why preset `name` cannot serve this config (the message names both keys), or None."""
    preset = PRESETS[name]
    if mode not in preset.modes:
        supported = " or ".join(repr(m) for m in preset.modes)
        return f"scorer_prompt {name!r} does not fit mode {mode!r} (it has mode {supported})"
    if preset.history == "required" and not has_history:
        return f"scorer_prompt {name!r} needs history_column ({{history}})"
    if preset.history == "refused" and has_history:
        return (
            f"scorer_prompt {name!r} has no {{history}}: history_column needs scorer_prompt "
            "'rocketeval' or a custom_prompt with {history}"
        )
    return None
