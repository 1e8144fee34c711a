"""Human labels: ANNOTATION score records beside the judge's, and agreement per score name,
per scorer and overall (unit, then through a whole job with a fake judge named as such)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_openai_server import FakeOpenAIServer, Reply, fake_judge_job

from pipeline.annotations import agreement, annotation_records
from pipeline.results import open_run
from pipeline.runner import run_job
from pipeline.spec_loader import SpecError, parse_spec
from scorers.score_config import ScoreConfig

BOOL = ScoreConfig(data_type="BOOLEAN")


def evals(rows: list[tuple[str, str, float, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sample_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "scorer_key": ["q"] * len(rows),
            "value": [r[2] for r in rows],
            "metadata": [None if r[3] is None else json.dumps({"confidence": r[3]}) for r in rows],
            "source": ["EVAL"] * len(rows),
        }
    )


def test_agreement_per_item_scorer_and_overall():
    judged = evals(
        [("a", "q.item_0", 1.0, 0.9), ("b", "q.item_0", 0.0, 0.2), ("c", "q.item_0", 1.0, 0.7),
         ("a", "q.item_1", 0.0, 0.3), ("b", "q.item_1", 1.0, 0.8)]
    )  # fmt: skip
    human = pl.DataFrame(
        {
            "sample_id": ["a", "b", "c", "a", "b"],
            "name": ["q.item_0"] * 3 + ["q.item_1"] * 2,
            "human": ["yes", "no", "no", "no", "no"],
        }
    )
    result = agreement(judged, human, {"q.item_0": BOOL, "q.item_1": BOOL})
    assert result["scores"]["q.item_0"]["accuracy"] == pytest.approx(2 / 3)
    assert result["scores"]["q.item_1"]["accuracy"] == pytest.approx(1 / 2)
    assert result["scorers"]["q"]["n"] == 5
    assert result["overall"]["accuracy"] == pytest.approx(3 / 5)
    # Brier over the 5 confidences against the labels 1,0,0,0,0
    brier = ((0.9 - 1) ** 2 + 0.2**2 + 0.7**2 + 0.3**2 + 0.8**2) / 5
    assert result["overall"]["brier"] == pytest.approx(brier)


def test_human_labels_become_annotation_records():
    human = pl.DataFrame({"sample_id": ["a"], "name": ["correct"], "human": ["True"]})
    (record,) = annotation_records(human, {"correct": BOOL}, "run", "now").to_pylist()
    assert (record["source"], record["data_type"], record["value"]) == (
        "ANNOTATION",
        "BOOLEAN",
        1.0,
    )


def test_annotations_come_from_one_place(tmp_path):
    raw = fake_judge_job("x.parquet", "out", "http://127.0.0.1:9/v1")
    raw["annotations"] = {}
    with pytest.raises(SpecError, match="give exactly one of 'path' and 'columns'"):
        parse_spec(raw)


@pytest.mark.ray
def test_a_job_with_annotations_writes_records_and_agreement(tmp_path, ray_cluster):
    data = tmp_path / "in.parquet"
    ids = [f"r{n}" for n in range(12)]
    pq.write_table(pa.table({"id": ids, "response": [f"answer {n}" for n in range(12)]}), data)
    labels = tmp_path / "labels.parquet"  # humans said yes to the first 9 rows, no to 3
    verdicts = ["yes"] * 9 + ["no"] * 3
    pq.write_table(pa.table({"id": ids, "name": ["q.item_0"] * 12, "value": verdicts}), labels)
    with FakeOpenAIServer() as server:
        server.on(Reply())
        raw = fake_judge_job(str(data), str(tmp_path / "run"), server.url, batch_size=4)
        raw["annotations"] = {"path": str(labels)}
        result = run_job(parse_spec(raw))
    run = Path(result.run_dir)
    records = pl.read_parquet(run / "scores_long" / "*.parquet")
    human = records.filter(pl.col("source") == "ANNOTATION")
    assert human.height == 12 and set(human["name"]) == {"q.item_0"}
    scores = pl.read_parquet(run / "scores" / "*.parquet")
    said = scores.select(
        "id", pl.col("q").struct.field("item_scores").list.first().struct.field("answer")
    )
    expected = (
        said.with_columns(
            pl.col("id").is_in(ids[:9]).alias("human"), (pl.col("answer") == "yes").alias("judge")
        )
        .select((pl.col("human") == pl.col("judge")).mean())
        .item()
    )
    written = json.loads((run / "agreement.json").read_text())
    assert written["scores"]["q.item_0"]["n"] == 12
    assert written["scores"]["q.item_0"]["accuracy"] == pytest.approx(expected)
    table = pl.read_parquet(run / "agreement.parquet")
    assert set(table["level"]) == {"score", "scorer", "overall"}

    opened = open_run(result.run_dir)  # the results API: lazy Polars scans
    assert opened.samples.select(pl.len()).collect().item() == 12
    items = opened.items.collect()
    assert items.height == 12 and set(items["scorer"]) == {"q"}
    assert (
        items.join(said, on="id")["answer"].to_list()
        == items.join(said, on="id")["answer_right"].to_list()
    )
    assert opened.scores_long.filter(pl.col("source") == "ANNOTATION").collect().height == 12
    assert opened.agreement is not None and opened.agreement.collect().height == 3
    assert opened.manifest["rows"]["out"] == 12


def test_open_run_refuses_a_directory_without_a_finished_run(tmp_path):
    (tmp_path / "run" / ".rayscore").mkdir(parents=True)
    (tmp_path / "run" / ".rayscore" / "fingerprint.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no finished run"):
        open_run(str(tmp_path / "run"))
