"""`rayscore variance`: the spread maths on hand-made tables, the copies and the derived job, and
the whole plan through real Ray and the real vLLM CPU engine."""

import json
import math
import tempfile
from pathlib import Path

import polars as pl
import pytest
from conftest import ENGINE_KWARGS, NO_LABEL_FLOOR

from jobs.cli import main
from jobs.variance import repeats_verdict
from pipeline.plan import plan_of
from pipeline.spec_loader import parse_spec
from pipeline.variance.run import (
    COPY,
    SOURCE_ID,
    copies_of,
    derived_spec,
    measured_scorers,
    sample_ids,
)
from pipeline.variance.spread import PARAPHRASE, REPEAT, score_spread
from scorers.checklist.checklist_input import sample_input
from scorers.checklist.variance_hook import checklist_column

CHECKLIST = {
    "type": "checklist",
    "key": "quality",
    "primary_metric": "normalized",
    "input_column": "prompt",
    "target_column": "response",
    "checklist": [
        {
            "question": "Does the response answer the question that was asked?",
            "weight": 100,
            "paraphrases": [
                "Is the question that was asked answered by the response?",
                "Does the response address what the user asked?",
            ],
        },
        {
            "question": "Is the response free of factual errors?",
            "weight": 60,
            "paraphrases": ["Is everything the response states factually correct?"],
        },
    ],
    "metrics": [{"type": "mean", "field": "primary_score"}],
}
BOOLEAN = {
    "type": "boolean",
    "key": "on_topic",
    "question": "Is the response on topic?",
    "input_column": "prompt",
    "target_column": "response",
}


def job(data: Path, output: Path, model: Path | str = "models/tiny-judge") -> dict:
    return {
        "name": "variance-test",
        "input": {"path": str(data), "id_column": "id", "passthrough_columns": ["model"]},
        "output": {"path": str(output)},
        "judge": {"model": str(model), "engine_kwargs": ENGINE_KWARGS, "batch_size": 64},
        "annotations": {"columns": {"quality.item_0": "human_item_0"}},
        "definition": {
            "scorers": [
                CHECKLIST,
                BOOLEAN,
                {"type": "uniqueness", "key": "unique", "column": "response"},
            ]
        },
    }


def score(source: str, copy: str, k: int, value: float | None, item: int | None = 0) -> dict:
    answer = None if value is None else ("yes" if value >= 0.6 else "no")
    return {"source_id": source, "copy": copy, "copy_index": k, "scorer": "q", "item": item,
            "question": "Q?", "value": value, "answer": answer}  # fmt: skip


def test_spread_of_hand_made_scores():
    rows = [
        # row a: repeats equal; wordings 0.2, 0.4, 0.6; a paraphrase says yes where a said no
        score("a", REPEAT, 0, 0.2), score("a", REPEAT, 1, 0.2),
        score("a", PARAPHRASE, 0, 0.4), score("a", PARAPHRASE, 1, 0.6),
        # row b: repeats 0.9 / 0.7; wordings 0.9, 0.9, 0.3; one paraphrase says no
        score("b", REPEAT, 0, 0.9), score("b", REPEAT, 1, 0.7),
        score("b", PARAPHRASE, 0, 0.9), score("b", PARAPHRASE, 1, 0.3),
        # row c: unscored once: no repeat pair; no paraphrase spread without the original
        score("c", REPEAT, 0, None), score("c", REPEAT, 1, 0.5),
        score("c", PARAPHRASE, 0, 0.5),
    ]  # fmt: skip
    spread = score_spread(pl.DataFrame(rows)).row(0, named=True)
    assert spread["n"] == 2
    assert spread["repeat_max_abs_diff"] == pytest.approx(0.2)
    assert spread["repeat_identical"] == 0.5
    assert spread["paraphrases"] == 2
    std_a, std_b = math.sqrt(0.08 / 3), math.sqrt(0.24 / 3)
    assert spread["paraphrase_std"] == pytest.approx((std_a + std_b) / 2)
    assert spread["paraphrase_range"] == pytest.approx((0.4 + 0.6) / 2)
    assert spread["answer_flip_rate"] == 1.0
    assert spread["question"] == "Q?"


def test_spread_of_a_scalar_scorer_without_paraphrases():
    rows = [score(s, REPEAT, k, 0.5, item=None) for s in "ab" for k in (0, 1)]
    spread = score_spread(pl.DataFrame(rows)).row(0, named=True)
    assert spread["item"] is None
    assert (spread["n"], spread["repeat_max_abs_diff"], spread["repeat_identical"]) == (2, 0, 1)
    assert spread["paraphrases"] == 0
    assert spread["paraphrase_std"] is None and spread["answer_flip_rate"] is None


def test_paraphrases_change_nothing_a_job_asks():
    with_them = parse_spec(job(Path("d.parquet"), Path("out"))).definition.scorers[0]
    plain = {**CHECKLIST, "checklist": [
        {k: v for k, v in item.items() if k != "paraphrases"} for item in CHECKLIST["checklist"]
    ]}  # fmt: skip
    without = parse_spec({**job(Path("d.parquet"), Path("out")), "definition": {
        "scorers": [plain]}}).definition.scorers[0]  # fmt: skip
    row = {"prompt": "What is 2 + 2?", "response": "4."}
    template = with_them.prompt_text()
    assert sample_input(with_them, row).item_prompts(template) == sample_input(
        without, row
    ).item_prompts(template)
    assert "paraphrases" not in without.model_dump()["checklist"][0]


def test_sampling_is_deterministic_and_never_repeats_an_id():
    ids = pl.Series("id", [f"s{n:03d}" for n in range(100)])
    first = sample_ids(ids, 10, seed=3)
    assert first.to_list() == sample_ids(ids, 10, seed=3).to_list()
    assert first.n_unique() == 10 and first.is_sorted()
    assert first.to_list() != sample_ids(ids, 10, seed=4).to_list()
    assert sample_ids(ids, 500, seed=0).len() == 100


def test_copies_ask_the_paraphrases_and_the_derived_job_scores_nothing_else():
    spec = parse_spec(job(Path("d.parquet"), Path("out")))
    scorers = measured_scorers(spec)
    assert [s.key for s in scorers] == ["quality", "on_topic"]  # uniqueness is cross-sample
    sampled = pl.DataFrame({"id": [7], "prompt": ["p"], "response": ["r"]})
    copies = copies_of(sampled, "id", scorers)
    assert copies["id"].to_list() == ["7#repeat-0", "7#repeat-1", "7#paraphrase-0",
                                      "7#paraphrase-1"]  # fmt: skip
    assert copies[SOURCE_ID].unique().to_list() == ["7"]
    asked = [[q["question"] for q in c] for c in copies[checklist_column("quality")].to_list()]
    items = CHECKLIST["checklist"]
    assert asked[0] == asked[1] == [i["question"] for i in items]
    assert asked[2] == [items[0]["paraphrases"][0], items[1]["paraphrases"][0]]
    assert asked[3] == [items[0]["paraphrases"][1], items[1]["question"]]  # only one paraphrase

    derived = derived_spec(spec, scorers, "copies.parquet", "tmp/run")
    assert derived.annotations is None and plan_of(derived).bound_metrics == ()
    assert derived.output.path == "tmp/run" and COPY in derived.input.passthrough_columns
    quality = derived.definition.scorers[0]
    assert quality.checklist is None and quality.checklist_column == checklist_column("quality")


def test_rows_below_one_are_refused_in_one_line(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps(job(tmp_path / "d.parquet", tmp_path / "out")))
    assert main(["variance", str(spec), "--rows", "0"]) == 2
    assert capsys.readouterr().err == "rayscore: rows must be at least 1, got 0\n"


def test_the_verdict_names_the_largest_repeat_difference():
    spread = pl.DataFrame(
        {"scorer": ["q", "q"], "item": [0, 1], "n": [3, 3], "repeat_max_abs_diff": [0.0, 0.25]}
    )
    assert repeats_verdict(spread) == ("repeats identical: no (largest difference 0.25, q item 1)")
    assert repeats_verdict(spread.head(1)).startswith("repeats identical: yes")


@pytest.mark.ray
@pytest.mark.engine
def test_variance_command_through_the_real_job(
    tmp_path, monkeypatch, capsys, ray_cluster, tiny_model, demo_parquet
):
    scorable = pl.read_parquet(demo_parquet).filter(pl.col("response").is_not_null()).head(12)
    data = tmp_path / "scorable.parquet"
    scorable.write_parquet(data)
    user_output = tmp_path / "user_run"
    spec = tmp_path / "spec.yaml"
    judged_by_tiny = job(data, user_output, tiny_model)
    judged_by_tiny["judge"].update(NO_LABEL_FLOOR)
    spec.write_text(json.dumps(judged_by_tiny))  # JSON is YAML
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    table = tmp_path / "spread.json"

    argv = ["variance", str(spec), "--rows", "6", "--seed", "1", "--json", str(table)]
    assert main(argv) == 0

    assert "repeats identical: yes" in capsys.readouterr().out
    spread = pl.read_json(table)
    assert spread.select("scorer", "item").rows() == [("on_topic", None), ("quality", 0),
                                                      ("quality", 1)]  # fmt: skip
    assert spread["n"].to_list() == [6, 6, 6]  # every sampled row, every item, scored twice
    assert spread["repeat_max_abs_diff"].to_list() == [0.0, 0.0, 0.0]
    assert spread["repeat_identical"].to_list() == [1.0, 1.0, 1.0]
    assert spread["paraphrases"].to_list() == [0, 2, 1]
    paraphrased = spread.filter(pl.col("paraphrases") > 0)
    for column in ("paraphrase_std", "paraphrase_range", "answer_flip_rate"):
        assert paraphrased[column].cast(pl.Float64).is_finite().all(), column
    assert paraphrased["paraphrase_std"].min() > 0  # other wordings do move this judge
    assert not user_output.exists()
    assert not [p for p in work.iterdir() if p.name.startswith("rayscore-variance-")]
