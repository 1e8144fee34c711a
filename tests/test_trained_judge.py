"""The demo judge trained on its checklist task, through the real engine and real Ray: its
answers agree with the truth far above chance, calibration lowers the expected calibration
error on held-out rows, and a later run applies the stored calibration without refitting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
import yaml
from sklearn.metrics import cohen_kappa_score

from jobs.demo.checklist_task import QUESTIONS
from jobs.demo.demo_data import write_demo_data
from jobs.demo.train_judge import TRAINING_SEED, Recipe, task_examples
from pipeline.results import open_run
from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec
from scorers.calibration import apply_calibrator

pytestmark = [pytest.mark.ray, pytest.mark.engine]

ROOT = Path(__file__).resolve().parents[1]


# (accuracy, Cohen's kappa) on held-out rows. Factual errors in sums need arithmetic, which
# the 2-layer judge cannot learn: that question stays the weak one, and calibration and the
# composite have something to correct.
LEAST_AGREEMENT = {
    "Does the response answer the question that was asked?": (0.95, 0.8),
    "Is the response free of factual errors?": (0.6, 0.2),
    "Is the response a complete sentence ending with a period?": (0.95, 0.8),
    "Is the response under ten words long?": (0.95, 0.8),
}


def demo_spec(model: Path, data: Path, out: Path, **changes: object) -> dict:
    spec = yaml.safe_load((ROOT / "jobs" / "examples" / "demo.yaml").read_text())
    spec["judge"]["model"] = str(model)
    spec["input"]["path"] = str(data)
    spec["output"]["path"] = str(out)
    return spec | changes


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, ray_cluster, trained_judge):
    tmp = tmp_path_factory.mktemp("trained")
    data = write_demo_data(tmp / "demo.parquet")
    result = run_job(parse_spec(demo_spec(trained_judge, data, tmp / "run")))
    return data, result


def answers(run_dir: str) -> pl.DataFrame:
    return open_run(run_dir).items.select("id", "index", "answer", "confidence").collect()


def test_the_trained_judge_agrees_with_the_truth_far_above_chance(demo_run, trained_judge):
    from transformers import AutoTokenizer

    data, result = demo_run
    seen = {
        e.text
        for e in task_examples(
            AutoTokenizer.from_pretrained(trained_judge), Recipe().training_samples, TRAINING_SEED
        )
    }
    truth = pl.read_parquet(data).filter(
        ~pl.struct("prompt", "response").map_elements(
            lambda r: (r["prompt"], r["response"]) in seen, return_dtype=pl.Boolean
        )
    )
    assert truth.height > 100, "held-out rows: samples the judge never saw in training"
    judged = answers(result.run_dir)
    found = {}
    for n, question in enumerate(QUESTIONS):
        pairs = truth.select("id", f"true_item_{n}").join(
            judged.filter(pl.col("index") == n), on="id"
        )
        said = (pairs["answer"] == "yes").to_numpy()
        true = pairs[f"true_item_{n}"].to_numpy()
        accuracy = float(np.mean(said == true))
        found[question.question] = (accuracy, cohen_kappa_score(true, said))
    for question, least in LEAST_AGREEMENT.items():
        accuracy, kappa = found[question]
        assert accuracy >= least[0] and kappa >= least[1], (question, found)


def test_calibration_lowers_the_error_on_held_out_rows(demo_run):
    _, result = demo_run
    report = json.loads(Path(result.run_dir, "calibration.json").read_text())["report"]
    overall = report["overall"]
    assert overall["n_holdout"] > 200
    assert overall["after"]["ece"] < overall["before"]["ece"]
    composite = report["composite"]
    assert composite["composite"]["roc_auc"] > 0.7
    assert set(composite["weighted_score"]) >= {"spearman", "kendall", "roc_auc", "brier"}
    items = open_run(result.run_dir).items.collect()
    scored = items.filter(pl.col("confidence").is_not_null())
    assert scored["calibrated_confidence"].null_count() == 0
    assert scored["calibrated_confidence"].is_between(0, 1).all()
    composite_column = pl.read_parquet(f"{result.run_dir}/scores/*.parquet")["quality_composite"]
    assert composite_column.drop_nulls().drop_nans().is_between(0, 1).all()
    assert composite_column.drop_nulls().drop_nans().len() == 298


def test_a_later_run_applies_the_stored_calibration_as_it_is(demo_run, trained_judge, tmp_path):
    data, first = demo_run
    subset = tmp_path / "subset.parquet"
    pq.write_table(pq.read_table(data).slice(0, 40), subset)
    spec = demo_spec(trained_judge, subset, tmp_path / "later")
    spec.pop("annotations")
    spec["calibration"] = {"from": first.run_dir}
    later = run_job(parse_spec(spec))
    stored = json.loads(Path(first.run_dir, "calibration.json").read_text())
    assert json.loads(Path(later.run_dir, "calibration.json").read_text()) == stored
    before = open_run(first.run_dir).items.collect()
    after = open_run(later.run_dir).items.collect()
    assert after.height == 38 * len(QUESTIONS)
    expected = apply_calibrator(stored["calibrators"]["quality"], after["confidence"].to_numpy())
    np.testing.assert_array_equal(after["calibrated_confidence"].to_numpy(), expected)
    both = after.join(before, on=["id", "index"], suffix="_first")
    same = both.filter(pl.col("confidence") == pl.col("confidence_first"))
    assert same.height > 100
    assert (same["calibrated_confidence"] == same["calibrated_confidence_first"]).all()
