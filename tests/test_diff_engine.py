"""`rayscore diff` on two real demo runs, through the real engine and real Ray: run B rewords
one question and edits a few rows. The reworded item is flagged; the unchanged items are not,
and any answer of theirs that flipped is on an edited row (the judge is deterministic)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from jobs.cli import main
from jobs.demo.demo_data import write_demo_data
from pipeline.results import open_run
from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

pytestmark = [pytest.mark.ray, pytest.mark.engine]

ROOT = Path(__file__).resolve().parents[1]
ROWS = 30
EDITED = ["1", "2", "3"]  # positions of the rows whose response run B changes
REWORDED = 3
NEW_WORDING = "Does the response use fewer than ten words?"


def demo_spec(model: Path, data: Path, out: Path, reword: bool) -> dict:
    """demo.yaml on `data`, labels for the items, no calibration (too few rows to fit)."""
    spec = yaml.safe_load((ROOT / "jobs" / "examples" / "demo.yaml").read_text())
    spec["judge"]["model"] = str(model)
    spec["input"]["path"] = str(data)
    spec["output"]["path"] = str(out)
    spec.pop("calibration")
    spec["annotations"]["columns"].pop("quality.overall")
    if reword:
        spec["definition"]["scorers"][0]["checklist"][REWORDED]["question"] = NEW_WORDING
    return spec


@pytest.fixture(scope="module")
def two_demo_runs(tmp_path_factory, ray_cluster, trained_judge) -> tuple[str, str, list[str]]:
    tmp = tmp_path_factory.mktemp("diff")
    data_a = write_demo_data(tmp / "a.parquet", n_rows=ROWS)
    table = pl.read_parquet(data_a)
    edited_ids = [table["id"][int(n)] for n in EDITED]
    edited = table.with_columns(
        pl.when(pl.col("id").is_in(edited_ids))
        .then(pl.lit("I would rather not say anything about that topic today, sorry"))
        .otherwise(pl.col("response"))
        .alias("response")
    )
    data_b = tmp / "b.parquet"
    edited.write_parquet(data_b)
    a = run_job(parse_spec(demo_spec(trained_judge, data_a, tmp / "a", reword=False)))
    b = run_job(parse_spec(demo_spec(trained_judge, data_b, tmp / "b", reword=True)))
    return a.run_dir, b.run_dir, edited_ids


def test_the_reworded_item_is_flagged_and_the_unchanged_ones_are_not(two_demo_runs, tmp_path):
    a, b, edited_ids = two_demo_runs
    out = tmp_path / "diff.json"
    assert main(["diff", a, b, "--json", str(out)]) == 0
    diff = json.loads(out.read_text())
    items = {row["item"]: row for row in diff["diff"] if row["item"] is not None}
    assert sorted(items) == [0, 1, 2, 3]
    scorable = open_run(a).items.select("id").unique().collect().height  # rows with items
    assert scorable >= ROWS - 5
    for row in items.values():
        assert (row["rows_both"], row["only_a"], row["only_b"]) == (scorable, 0, 0)
    reworded = items.pop(REWORDED)
    assert reworded["reworded"] and reworded["question"] == NEW_WORDING
    assert reworded["flipped"] > 0
    for row in items.values():
        assert not row["reworded"] and not row["exceeds_noise"], row
        assert row["flipped"] <= len(edited_ids) / scorable
    assert diff["calibration"] is not None  # both runs have the items' human labels
    kappas = {(r["level"], r["name"]): r for r in diff["calibration"]}
    assert ("score", "quality.item_0") in kappas


def test_answers_flip_only_on_edited_rows_for_unchanged_items(two_demo_runs):
    a, b, edited_ids = two_demo_runs

    def answers(run: str) -> pl.DataFrame:
        return (
            open_run(run)
            .items.filter(pl.col("index") != REWORDED)
            .select("id", "index", "answer", "confidence")
            .collect()
        )

    joined = answers(a).join(answers(b), on=["id", "index"], suffix="_b")
    changed = joined.filter(pl.col("confidence") != pl.col("confidence_b"))
    assert set(changed["id"]) <= set(edited_ids)
    assert changed.height > 0, "editing three responses changed no answer: the test is blind"
