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

from jobs.cli import main
from pipeline.annotations.labels import agreement
from pipeline.annotations.names import (
    UnknownAnnotationName,
    check_annotation_names,
    names_after_scoring,
    names_at_load,
    with_config_ids,
)
from pipeline.annotations.records import AnnotationValueError, annotation_records
from pipeline.results import open_run
from pipeline.runner import run_job
from pipeline.score_records import TRACE_FIELDS, sample_fields
from pipeline.spec_loader import SpecError, parse_spec
from scorers.cross_sample.spec import PythonAllSamplesSpec
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


def test_human_labels_become_annotation_records_like_their_samples_eval_records():
    human = pl.DataFrame(
        {
            "sample_id": ["a", "b", "a"],
            "name": ["correct", "q.item_1", "q.pass_rate"],
            "human": ["True", "no", "0.5"],
            "author": ["ann", "columns:h", "ann"],
            "comment": ["sure", None, None],
            "config_id": ["correct", "q.item", "q.pass_rate"],
        }
    )
    configs = {
        "correct": ("c", "value", BOOL),
        "q.item": ("q", "item_scores", BOOL),
        "q.pass_rate": ("q", "pass_rate", ScoreConfig(data_type="NUMERIC")),
    }
    inputs = pa.table({"id": ["a", "b"], "env": ["prod", "dev"], "tags": [["x"], None]})
    trace = {"environment": "env", "tags": "tags"}
    samples = pa.table(sample_fields(inputs, "id", trace))
    records = annotation_records(human, configs, {"c": "qa", "q": "score"}, samples, "r", "now")
    assert [
        (r["source"], r["name"], r["config_id"], r["data_type"], r["value"], r["string_value"])
        for r in records.to_pylist()
    ] == [
        ("ANNOTATION", "correct", "correct", "BOOLEAN", 1.0, "true"),
        ("ANNOTATION", "q.item_1", "q.item", "BOOLEAN", 0.0, "false"),
        ("ANNOTATION", "q.pass_rate", "q.pass_rate", "NUMERIC", 0.5, None),
    ]
    assert records.select(["environment", "tags", "author", "comment", "purpose"]).to_pylist() == [
        {"environment": "prod", "tags": ["x"], "author": "ann", "comment": "sure", "purpose": "qa"},
        {"environment": "dev", "tags": None, "author": "columns:h", "comment": None,
         "purpose": "score"},
        {"environment": "prod", "tags": ["x"], "author": "ann", "comment": None,
         "purpose": "score"},
    ]  # fmt: skip


@pytest.mark.parametrize(("data_type", "value"), [("BOOLEAN", "maybe"), ("NUMERIC", "high")])
def test_a_label_its_config_cannot_read_is_refused(data_type, value):
    human = pl.DataFrame(
        {
            "sample_id": ["a"],
            "name": ["s"],
            "human": [value],
            "author": ["ann"],
            "comment": [None],
            "config_id": ["s"],
        },
        schema_overrides={"comment": pl.String},
    )
    configs = {"s": ("s", "value", ScoreConfig(data_type=data_type))}
    samples = pa.table(sample_fields(pa.table({"id": ["a"]}), "id", {}))
    with pytest.raises(AnnotationValueError, match=f"1 label.s. of {data_type} scores are"):
        annotation_records(human, configs, {"s": "score"}, samples, "r", "now")


LABELLED = {"annotations": {"columns": {"q.item_0": "h0", "q.verdict": "h1"}}}


def test_an_annotation_naming_no_score_is_refused_at_load_with_the_names_that_exist():
    spec = parse_spec(fake_judge_job("x.parquet", "out", "http://127.0.0.1:9/v1") | LABELLED)
    with pytest.raises(UnknownAnnotationName) as refused:
        check_annotation_names(spec)
    message = str(refused.value)
    assert "annotations.columns names no score: ['q.verdict']" in message
    assert all(name in message for name in ("q.item_<index>", "q.pass_rate", "q.weighted_score"))


def test_item_names_and_a_declared_composite_label_have_configs():
    raw = fake_judge_job("x.parquet", "out", "http://127.0.0.1:9/v1") | LABELLED
    raw["calibration"] = {"composite": {"scorer": "q", "label": "q.verdict"}}
    spec = parse_spec(raw)
    check_annotation_names(spec)  # q.verdict is the composite's label
    known = names_at_load(spec.definition.scorers, spec.calibration)
    assert known.config_id("q.item_2") == "q.item" and known.config_id("q.item_x") is None
    assert known.configs["q.verdict"][2].data_type == "BOOLEAN"


def test_a_name_under_a_scorer_whose_code_decides_its_fields_is_checked_once_it_has_run():
    snippet = "def compute_scores(samples):\n    return [{'fluent': 1.0} for _ in samples]\n"
    py = PythonAllSamplesSpec(type="python_all_samples", key="py", compute_scores_snippet=snippet)
    human = pl.DataFrame({"name": ["py.fluent", "py.fluency"]})
    assert names_at_load([py], None).unknown(human["name"]) == []  # fields unknown yet
    ran = names_after_scoring([py], {"py": {"fluent": ScoreConfig(data_type="NUMERIC")}}, None)
    with pytest.raises(
        UnknownAnnotationName, match=r"names no score: \['py.fluency'\]; .*py.fluent"
    ):
        with_config_ids(human, ran, "annotations.columns")
    assert with_config_ids(human[:1], ran, "x")["config_id"].to_list() == ["py.fluent"]


def test_an_annotations_files_unknown_names_are_refused_before_the_job_starts(tmp_path, capsys):
    data, labels, out = tmp_path / "in.parquet", tmp_path / "labels.parquet", tmp_path / "run"
    pq.write_table(pa.table({"id": ["a", "b"], "response": ["x", "y"]}), data)
    names = ["q.item_0", "q.overal", "q.overal"]
    pq.write_table(pa.table({"id": ["a", "b", "a"], "name": names, "value": ["1"] * 3}), labels)
    raw = fake_judge_job(str(data), str(out), "http://127.0.0.1:9/v1")
    raw["annotations"] = {"path": str(labels)}
    with pytest.raises(UnknownAnnotationName, match=r"names no score: \['q.overal'\]"):
        run_job(parse_spec(raw))
    assert not out.exists()  # refused before the run directory, Ray or any engine
    spec_file = tmp_path / "job.yaml"
    spec_file.write_text(json.dumps(raw))
    assert main(["validate", str(spec_file)]) == 2
    error = capsys.readouterr().err
    assert f"the file {str(labels)!r} names no score: ['q.overal']" in error
    assert "q.item_<index>" in error


def test_annotations_come_from_somewhere(tmp_path):
    raw = fake_judge_job("x.parquet", "out", "http://127.0.0.1:9/v1")
    raw["annotations"] = {}
    with pytest.raises(SpecError, match=r"give 'path' .* 'columns', or both"):
        parse_spec(raw)


@pytest.mark.ray
def test_a_job_with_annotations_writes_records_and_agreement(tmp_path, ray_cluster):
    data = tmp_path / "in.parquet"
    ids = [f"r{n}" for n in range(12)]
    inputs = {
        "id": ids,
        "response": [f"answer {n}" for n in range(12)],
        "version": [f"v{n % 2}" for n in range(12)],
        "env": ["production"] * 6 + ["development"] * 6,
        "who": [f"user{n % 3}" for n in range(12)],
        "tags": [[f"t{n % 4}", "demo"] for n in range(12)],
    }
    pq.write_table(pa.table(inputs), data)
    labels = tmp_path / "labels.parquet"  # humans said yes to the first 9 rows, no to 3
    verdicts = ["yes"] * 9 + ["no"] * 3
    authors = ["ann"] * 6 + [None] * 6  # the rows without one get the file's path
    comments = [f"why {n}" if n % 2 else None for n in range(12)]
    pq.write_table(
        pa.table(
            {
                "id": ids * 2,
                "name": ["q.item_0"] * 12 + ["q.overall"] * 12,  # q.overall: composite's label
                "value": verdicts * 2,
                "author": authors * 2,
                "comment": comments * 2,
            }
        ),
        labels,
    )
    with FakeOpenAIServer() as server:
        server.on(Reply())
        raw = fake_judge_job(str(data), str(tmp_path / "run"), server.url, batch_size=4)
        raw["input"]["trace"] = {
            "trace_name": "version", "environment": "env", "user": "who", "tags": "tags"
        }  # fmt: skip
        raw["annotations"] = {"path": str(labels)}
        raw["calibration"] = {"composite": {"scorer": "q", "label": "q.overall"}}
        result = run_job(parse_spec(raw))
    run = Path(result.run_dir)
    records = pl.read_parquet(run / "scores_long" / "*.parquet")
    human = records.filter(pl.col("source") == "ANNOTATION")
    assert human.height == 24 and set(human["name"]) == {"q.item_0", "q.overall"}

    # Every record, EVAL and ANNOTATION, has its config in score_configs.json.
    configs = json.loads((run / "score_configs.json").read_text())
    assert records["config_id"].null_count() == 0
    assert records["config_id"].is_in(list(configs)).all()
    assert dict(human.select("name", "config_id").unique().iter_rows()) == {
        "q.item_0": "q.item",
        "q.overall": "q.overall",
    }
    assert configs["q.overall"]["data_type"] == "BOOLEAN"
    assert set(human["scorer_key"]) == {"q"} and set(human["purpose"]) == {"score"}
    # ... the trace fields of the same sample's EVAL records ...
    sample = ["sample_id", *(f for f in TRACE_FIELDS if f != "author")]
    evals = records.filter(pl.col("source") == "EVAL").select(sample).unique()
    assert evals.height == 12 and evals["environment"].null_count() == 0
    assert human.select(sample).unique().sort("sample_id").equals(evals.sort("sample_id"))
    # ... and the author and comment of its row of the annotations table.
    given = pl.DataFrame({"sample_id": ids, "author": authors, "comment": comments})
    joined = human.join(given, on="sample_id", suffix="_given")
    assert joined.height == 24
    expected_author = joined.select(pl.col("author_given").fill_null(str(labels))).to_series()
    assert joined["author"].equals(expected_author, check_names=False)
    assert joined["comment"].equals(joined["comment_given"], check_names=False)
    assert joined.filter(pl.col("author") == str(labels)).height == 12

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
    assert opened.scores_long.filter(pl.col("source") == "ANNOTATION").collect().height == 24
    assert opened.agreement is not None and opened.agreement.collect().height == 3
    assert opened.manifest["rows"]["out"] == 12


def test_open_run_refuses_a_directory_without_a_finished_run(tmp_path):
    (tmp_path / "run" / ".rayscore").mkdir(parents=True)
    (tmp_path / "run" / ".rayscore" / "fingerprint.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no finished run"):
        open_run(str(tmp_path / "run"))
