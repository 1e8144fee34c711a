"""Labels in RUN/annotations/ whichever way they were saved: parts of the first review app
(a plain table: the run's id column, name, value "yes"/"no", author, comment, labelled_at)
are read as ANNOTATION records beside today's, by the store, by open_run and by the
annotations reader; and a table of score records gives its ANNOTATION rows only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from finished_runs import item, write_finished_run
from review_runs import make_run

from jobs.cli import _nightly_flags, main
from jobs.diff.drift import calibration_drift
from jobs.report_data import collect_report
from jobs.review.access import cookie_name
from jobs.review.app import create_app
from jobs.review.review_run import open_review
from pipeline.annotations.labels import AnnotationsSpec, annotation_names, read_annotations
from pipeline.results import open_run
from pipeline.score_records import RECORD_SCHEMA
from pipeline.spec_loader import load_spec


def plain_part(folder: Path, name: str, rows: list[tuple[str, str, str, str, int]]) -> None:
    """A part as the first review app saved it: (id, name, yes/no, author, second of the day)."""
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "author": [r[3] for r in rows],
            "comment": pa.nulls(len(rows), pa.string()),
            "labelled_at": pa.array(
                [datetime(2026, 12, 6, 10, 0, r[4], tzinfo=UTC) for r in rows],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    pq.write_table(table, folder / f"label-{name}.parquet")


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    samples = {f"r{n}": [item(0, "Is it good?", "yes", 0.9)] for n in range(4)}
    write_finished_run(tmp_path / "run", samples)
    return tmp_path / "run"


def client_for(run_dir: Path, author: str) -> TestClient:
    client = TestClient(create_app(open_review(str(run_dir), author=author), "t"))
    client.cookies.set(cookie_name(None), "t")
    return client


def test_parts_of_the_first_review_app_are_read_as_records_beside_todays(run_dir):
    plain_part(
        run_dir / "annotations",
        "20261206T100000000000-old",
        [("r1", "quality.item_0", "yes", "ana", 1), ("r2", "quality.item_0", "no", "ana", 2)],
    )
    client = client_for(run_dir, "ana")
    saved = client.post(  # a relabel today: the latest counts
        "/labels", json={"sample_id": "r1", "labels": [{"name": "quality.item_0", "value": False}]}
    )
    assert saved.status_code == 200, saved.text

    history = open_review(str(run_dir)).store.history()
    assert history.select("sample_id", "value", "source").rows() == [
        ("r1", 1.0, "ANNOTATION"),
        ("r2", 0.0, "ANNOTATION"),
        ("r1", 0.0, "ANNOTATION"),
    ]
    assert history["created_at"][0] == "2026-12-06T10:00:01.000000+00:00"
    labels = read_annotations(AnnotationsSpec(path=str(run_dir / "annotations")), "id", [], None)
    assert sorted(labels.select("sample_id", "human").rows()) == [("r1", "false"), ("r2", "false")]
    records = open_run(str(run_dir)).scores_long.filter(pl.col("source") == "ANNOTATION")
    assert sorted(records.select("sample_id", "value").collect().rows()) == [
        ("r1", 0.0),
        ("r2", 0.0),
    ]


def test_a_table_of_score_records_gives_its_annotation_rows_only(tmp_path):
    rows = [
        {"sample_id": "r1", "name": "q.item_0", "value": 1.0, "string_value": "true",
         "data_type": "BOOLEAN", "source": "EVAL", "author": "judge"},
        {"sample_id": "r1", "name": "q.item_0", "value": 0.0, "string_value": "false",
         "data_type": "BOOLEAN", "source": "ANNOTATION", "author": "ana"},
        {"sample_id": "r2", "name": "q.item_1", "value": 1.0, "string_value": "true",
         "data_type": "BOOLEAN", "source": "EVAL", "author": "judge"},
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows).cast(pa.schema([RECORD_SCHEMA.field(c) for c in rows[0]]))
    pq.write_table(table, tmp_path / "records.parquet")
    spec = AnnotationsSpec(path=str(tmp_path / "records.parquet"))
    labels = read_annotations(spec, "id", [], None)
    assert labels.select("sample_id", "name", "human", "author").rows() == [
        ("r1", "q.item_0", "false", "ana")
    ]
    assert annotation_names(spec, "id") == ["q.item_0"]


def test_annotations_on_the_command_line_are_read_beside_the_specs_own(tmp_path):
    spec_file = tmp_path / "job.yaml"
    spec = {
        "name": "j",
        "input": {"path": "in.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "judge": {"model": "m"},
        "annotations": {"columns": {"quality.item_0": "human_0"}},
        "definition": {
            "scorers": [
                {
                    "type": "checklist",
                    "key": "quality",
                    "target_column": "response",
                    "checklist": [{"question": "Is it good?"}],
                }
            ]
        },
    }
    spec_file.write_text(json.dumps(spec))
    loaded = load_spec(spec_file, annotations="runs/a/annotations").annotations
    assert loaded is not None
    assert loaded.columns == {"quality.item_0": "human_0"}
    assert loaded.paths == ["runs/a/annotations"]
    spec["annotations"] = {"path": "labels.parquet"}
    spec_file.write_text(json.dumps(spec))
    loaded = load_spec(spec_file, annotations="runs/a/annotations").annotations
    assert loaded is not None and loaded.paths == ["labels.parquet", "runs/a/annotations"]

    class Args:
        from_run, output, annotations = "runs/a", None, "runs/a/annotations"

    assert _nightly_flags(Args()) == ["--from", "runs/a", "--annotations", "runs/a/annotations"]  # type: ignore[arg-type]


def judged_run(run_dir: Path) -> Path:
    """A hand-made run whose judge said yes (confidence 0.9) to item 0 of r0..r3, as EVAL
    records in scores_long/."""
    make_run(run_dir)
    judged = [
        {"sample_id": f"r{n}", "name": "quality.item_0", "value": 1.0, "string_value": None,
         "data_type": "BOOLEAN", "source": "EVAL", "scorer_key": "quality",
         "metadata": json.dumps({"confidence": 0.9})}
        for n in range(4)
    ]  # fmt: skip
    pq.write_table(
        pa.Table.from_pylist(judged, RECORD_SCHEMA), run_dir / "scores_long" / "part-00000.parquet"
    )
    return run_dir


def label_item_0(run_dir: Path, answers: dict[str, bool]) -> None:
    for sample, value in answers.items():
        client_for(run_dir, "ana").post(
            "/labels",
            json={"sample_id": sample, "labels": [{"name": "quality.item_0", "value": value}]},
        )


def test_the_report_works_the_agreement_out_again_over_the_review_labels(tmp_path):
    run_dir = judged_run(tmp_path / "made")
    assert collect_report(str(run_dir)).agreement is None
    label_item_0(run_dir, {"r0": True, "r1": True, "r2": False})
    agreement = collect_report(str(run_dir)).agreement
    assert agreement is not None
    overall = agreement.filter(pl.col("level") == "overall").to_dicts()[0]
    assert overall["n"] == 3 and overall["accuracy"] == pytest.approx(2 / 3)
    assert main(["report", str(run_dir)]) == 0


def test_a_label_of_an_integer_id_is_saved_under_the_id_scores_holds(tmp_path):
    write_finished_run(
        tmp_path / "ints", {str(n): [item(0, "Is it good?", "yes", 0.9)] for n in (7, 11)}
    )
    scores_file = tmp_path / "ints" / "scores" / "part-00000.parquet"
    scores = pq.read_table(scores_file)
    pq.write_table(scores.set_column(0, "id", pc.cast(scores["id"], pa.int64())), scores_file)
    label = {"name": "quality.item_0", "value": True}
    saved = client_for(tmp_path / "ints", "ana").post(
        "/labels", json={"sample_id": "011", "labels": [label]}
    )
    assert saved.status_code == 200, saved.text
    assert open_review(str(tmp_path / "ints")).store.history()["sample_id"].to_list() == ["11"]


def test_the_calibration_drift_of_a_diff_counts_each_runs_review_labels(tmp_path):
    a, b = judged_run(tmp_path / "a"), judged_run(tmp_path / "b")
    label_item_0(a, {"r0": True, "r1": True})
    label_item_0(b, {"r0": True, "r1": False, "r2": False})
    drift = calibration_drift(open_run(str(a)), open_run(str(b)))
    assert drift is not None
    overall = drift.filter(pl.col("level") == "overall").to_dicts()[0]
    assert (overall["n_a"], overall["n_b"]) == (2, 3)
