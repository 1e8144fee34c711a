"""`scorer_prompt` presets carry the seed's configurations: its defaults, unless the spec says
otherwise, and a clear refusal (naming both keys) where a preset cannot serve a config."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline.spec_loader import SpecError, parse_spec
from scorers.checklist.spec import ChecklistScorerSpec

# The seed's own wording: "Weighted metric (primary_metric="weighted") ... Default for:
# rlcf_direct, rlcf_candidate, rlcf_candidates_only" (item mode); "NormalizedScorer(...) ==
# ChecklistScorer(mode="item", use_logprobs=True, primary_metric="normalized")", "Default for:
# rocketeval"; batch: "Default for: tick, ..." (mode="batch"); item: "Default for item mode".
SEED_DEFAULTS: dict[str, dict[str, object]] = {
    "batch": {"mode": "batch", "primary_metric": "pass", "use_logprobs": True},
    "item": {"mode": "item", "primary_metric": "pass", "use_logprobs": True},
    "rlcf": {"mode": "item", "primary_metric": "weighted", "use_logprobs": True},
    "rocketeval": {"mode": "item", "primary_metric": "normalized", "use_logprobs": True},
}
NEEDS = {"rocketeval": {"history_column": "history"}}


def spec_of(**fields: object) -> ChecklistScorerSpec:
    return ChecklistScorerSpec.model_validate(
        {
            "type": "checklist",
            "key": "c",
            "input_column": "prompt",
            "target_column": "response",
            "checklist": [{"question": "Is it right?", "weight": 80}, {"question": "Brief?"}],
            **fields,
        }
    )


@pytest.mark.parametrize("preset", sorted(SEED_DEFAULTS))
def test_a_preset_brings_the_seeds_defaults(preset):
    spec = spec_of(scorer_prompt=preset, **NEEDS.get(preset, {}))
    assert {key: getattr(spec, key) for key in SEED_DEFAULTS[preset]} == SEED_DEFAULTS[preset]
    assert spec.capture_reasoning is False
    dumped = spec.model_dump()
    assert {key: dumped[key] for key in SEED_DEFAULTS[preset]} == SEED_DEFAULTS[preset]


def test_the_keys_a_preset_fills_read_as_set_and_the_others_do_not():
    spec = spec_of(scorer_prompt="rlcf")
    assert {"mode", "primary_metric"} <= spec.model_fields_set
    assert "use_logprobs" not in spec.model_fields_set
    assert spec.model_dump(exclude_unset=True)["primary_metric"] == "weighted"


def test_no_preset_keeps_the_fields_own_defaults():
    spec = spec_of()
    assert (spec.mode, spec.primary_metric, spec.use_logprobs) == ("item", "pass", True)
    assert not {"mode", "primary_metric", "use_logprobs"} & spec.model_fields_set


@pytest.mark.parametrize(
    ("preset", "own"),
    [
        ("rlcf", {"mode": "batch"}),  # the seed: "Use batch mode with RLCF for speed"
        ("rlcf", {"primary_metric": "pass", "capture_reasoning": True}),
        ("rocketeval", {"mode": "batch", "primary_metric": "weighted"}),
        ("rocketeval", {"use_logprobs": False, "primary_metric": "pass"}),
        ("batch", {"primary_metric": "normalized"}),
        ("item", {"use_logprobs": False}),
    ],
    ids=str,
)
def test_the_specs_own_values_win_over_the_presets(preset, own):
    spec = spec_of(scorer_prompt=preset, **own, **NEEDS.get(preset, {}))
    for key, default in SEED_DEFAULTS[preset].items():
        assert getattr(spec, key) == own.get(key, default)


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"scorer_prompt": "item", "mode": "batch"}, ["scorer_prompt 'item'", "mode 'batch'"]),
        ({"scorer_prompt": "batch", "mode": "item"}, ["scorer_prompt 'batch'", "mode 'item'"]),
        ({"scorer_prompt": "rocketeval"}, ["scorer_prompt 'rocketeval' needs history_column"]),
        (
            {"scorer_prompt": "rocketeval", "mode": "batch"},
            ["scorer_prompt 'rocketeval' needs history_column"],
        ),
        (
            {"scorer_prompt": "rlcf", "history_column": "history"},
            ["scorer_prompt 'rlcf'", "history_column"],
        ),
        (
            {"scorer_prompt": "rocketeval", "history_column": "history", "use_logprobs": False},
            ["needs use_logprobs", "scorer_prompt 'rocketeval' sets primary_metric"],
        ),
        (
            {"scorer_prompt": "rlcf", "checklist": [{"question": "Q?", "weight": 0}]},
            ["primary_metric 'weighted'", "scorer_prompt 'rlcf' sets primary_metric"],
        ),
        (
            {"scorer_prompt": "rlcf", "custom_prompt": "{target} {question}"},
            ["scorer_prompt or custom_prompt"],
        ),
    ],
    ids=str,
)
def test_a_combination_a_preset_cannot_serve_is_refused_naming_both_keys(fields, names):
    with pytest.raises(ValueError) as refused:
        spec_of(**fields)
    for name in names:
        assert name in str(refused.value)


def test_the_seeds_rlcf_in_batch_mode_loads_as_a_job():
    raw = {
        "name": "j",
        "input": {"path": "x.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "judge": {"model": "m/m"},
        "definition": {
            "scorers": [
                {
                    "type": "checklist",
                    "target_column": "response",
                    "checklist_column": "checklist",
                    "scorer_prompt": "rlcf",
                    "mode": "batch",
                }
            ]
        },
    }
    spec = parse_spec(raw).definition.scorers[0]
    assert isinstance(spec, ChecklistScorerSpec)
    assert (spec.mode, spec.primary_metric, spec.builtin_template()) == (
        "batch",
        "weighted",
        "rlcf_batch",
    )
    raw["definition"]["scorers"][0]["history_column"] = "history"
    with pytest.raises(SpecError, match="scorer_prompt 'rlcf' has no"):
        parse_spec(raw)


SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
# preset -> a pipeline the seed says it is the default scorer for
SEED_PIPELINE = {"batch": "tick", "rlcf": "rlcf_direct", "rocketeval": "rocketeval"}


def seed_scorer_for(pipeline: str) -> dict[str, object]:
    """The ChecklistScorer(...) keywords the seed shows right after 'Default for: <pipeline>'."""
    lines = (SEEDS / "checklist-scorers.txt").read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if "Default for:" in line and pipeline in line)
    code = next(line for line in lines[start:] if "ChecklistScorer(" in line)
    call = ast.parse(code[code.index("ChecklistScorer(") :]).body[0]
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
    keywords = {k.arg: ast.literal_eval(k.value) for k in call.value.keywords if k.arg}
    return {key: value for key, value in keywords.items() if key != "model"}


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the seed documents are not at {SEEDS}")
@pytest.mark.parametrize("preset", sorted(SEED_PIPELINE))
def test_a_preset_is_the_scorer_the_seed_text_shows_for_its_pipeline(preset):
    seed = seed_scorer_for(SEED_PIPELINE[preset])
    spec = spec_of(scorer_prompt=preset, **NEEDS.get(preset, {}))
    assert seed and {key: getattr(spec, key) for key in seed} == seed
    assert {key: SEED_DEFAULTS[preset][key] for key in seed} == seed
