"""Labels saved by `rayscore review`: one Parquet part of ANNOTATION score records per save in
RUN/annotations/, read back by the reader a job spec's `annotations: {path: ...}` uses."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.annotations.label_parts import LabelPartError
from pipeline.annotations.labelled_run import LabelledRun
from pipeline.annotations.labels import (
    AnnotationsFileError,
    AnnotationsSpec,
    annotation_names,
    read_annotations,
)
from pipeline.annotations.labels_store import Label, LabelsStore
from pipeline.annotations.names import ScoreNames, UnknownAnnotationName
from pipeline.score_records import RECORD_SCHEMA
from pipeline.storage.run_dir import RunDirectory
from scorers.score_config import ScoreConfig

YES_NO = ScoreConfig(data_type="BOOLEAN")


def labelled_run() -> LabelledRun:
    """A run of the checklist `quality` over r0..r99 with a `user` trace column and an
    overall verdict config."""
    names = ScoreNames(
        {
            "quality.item": ("quality", "item_scores", YES_NO),
            "quality.overall": ("quality", None, YES_NO),
        }
    )
    samples = pl.LazyFrame({"id": [f"r{n}" for n in range(100)], "who": ["u"] * 100})
    return LabelledRun("run-7", "id", names, {"quality": "eval"}, {"user": "who"}, samples)


def store_in(folder: Path) -> LabelsStore:
    return LabelsStore(RunDirectory(str(folder)), labelled_run())


def annotations_of(store: LabelsStore) -> dict[tuple[str, str, str], str]:
    frame = read_annotations(AnnotationsSpec(path=store.uri), "id", [], None)
    return {(r["author"], r["sample_id"], r["name"]): r["human"] for r in frame.to_dicts()}


def test_a_saved_label_is_a_part_the_annotations_reader_reads(tmp_path):
    store = store_in(tmp_path)
    path = store.append(
        [Label("r1", "quality.item_0", True), Label("r1", "quality.overall", False, "too long")],
        author="ana",
    )
    assert Path(path).parent == tmp_path / "annotations"
    assert [p.name for p in (tmp_path / "annotations").iterdir()] == [Path(path).name]
    assert annotations_of(store) == {
        ("ana", "r1", "quality.item_0"): "true",
        ("ana", "r1", "quality.overall"): "false",
    }
    comments = read_annotations(AnnotationsSpec(path=store.uri), "id", [], None)["comment"]
    assert comments.to_list() == [None, "too long"]
    records = pq.read_table(path)
    assert records.schema == RECORD_SCHEMA
    assert records.select(
        ["sample_id", "name", "value", "string_value", "data_type", "source", "author"]
    ).to_pylist() == [
        {"sample_id": "r1", "name": "quality.item_0", "value": 1.0, "string_value": "true",
         "data_type": "BOOLEAN", "source": "ANNOTATION", "author": "ana"},
        {"sample_id": "r1", "name": "quality.overall", "value": 0.0, "string_value": "false",
         "data_type": "BOOLEAN", "source": "ANNOTATION", "author": "ana"},
    ]  # fmt: skip
    assert set(records["config_id"].to_pylist()) == {"quality.item", "quality.overall"}
    assert set(records["run_id"].to_pylist()) == {"run-7"}
    assert set(records["user"].to_pylist()) == {"u"}  # the sample's trace field
    assert records["created_at"][0].as_py().endswith("+00:00")
    assert annotation_names(AnnotationsSpec(path=store.uri), "id") == [
        "quality.item_0",
        "quality.overall",
    ]


def test_a_relabel_keeps_history_and_the_latest_counts_per_author(tmp_path):
    store = store_in(tmp_path)
    store.append([Label("r1", "quality.item_0", True)], author="ana")
    store.append([Label("r1", "quality.item_0", True)], author="ben")
    time.sleep(0.002)
    store.append([Label("r1", "quality.item_0", False)], author="ana")
    assert store.history()["value"].to_list() == [1.0, 1.0, 0.0]
    current = {(r["author"], r["answer"]) for r in store.answers().to_dicts()}
    assert current == {("ana", "no"), ("ben", "yes")}
    assert annotations_of(store) == {
        ("ana", "r1", "quality.item_0"): "false",
        ("ben", "r1", "quality.item_0"): "true",
    }


def test_a_label_of_a_run_with_integer_ids_carries_its_samples_trace_fields(tmp_path):
    run = labelled_run()
    samples = pl.LazyFrame({"id": [10, 11, 12], "who": ["x", "y", "z"]})
    store = LabelsStore(RunDirectory(str(tmp_path)), dataclasses.replace(run, samples=samples))
    store.append([Label("11", "quality.item_0", True)], author="ana")
    assert store.current().select("sample_id", "user").rows() == [("11", "y")]


def test_a_label_naming_no_score_of_the_run_is_refused_and_nothing_is_written(tmp_path):
    store = store_in(tmp_path)
    with pytest.raises(UnknownAnnotationName, match=r"quality\.item_x"):
        store.append([Label("r1", "quality.item_x", True)], author="ana")
    assert store.history().height == 0


def test_two_reviewers_saving_at_once_lose_no_label(tmp_path):
    store = store_in(tmp_path)
    per_writer, writers = 25, 4
    start = threading.Barrier(writers)

    def label(author: str) -> None:
        start.wait()
        for n in range(per_writer):
            store.append([Label(f"r{n}", "quality.item_0", n % 2 == 0)], author=author)

    threads = [threading.Thread(target=label, args=(f"rev{w}",)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list((tmp_path / "annotations").glob("label-*.parquet"))) == per_writer * writers
    assert len(annotations_of(store)) == per_writer * writers


def test_a_part_a_killed_writer_left_half_written_is_skipped(tmp_path):
    store = store_in(tmp_path)
    store.append([Label("r1", "quality.item_0", True)], author="ana")
    (tmp_path / "annotations" / "_tmp-crashed.parquet").write_bytes(b"PAR1 cut off")
    assert store.history().height == 1
    assert len(annotations_of(store)) == 1


def test_no_labels_yet_is_an_empty_table(tmp_path):
    assert store_in(tmp_path).current().columns == RECORD_SCHEMA.names
    assert store_in(tmp_path).current().height == 0


def test_an_annotations_file_without_timestamps_keeps_every_row(tmp_path):
    rows = {"id": ["r1", "r1"], "name": ["q.item_0", "q.item_0"], "value": ["yes", "no"]}
    pq.write_table(pa.table(rows), tmp_path / "labels.parquet")
    spec = AnnotationsSpec(path=str(tmp_path / "labels.parquet"))
    assert read_annotations(spec, "id", [], None)["human"].to_list() == ["yes", "no"]


def test_a_broken_part_is_named_when_the_labels_are_read(tmp_path):
    store = store_in(tmp_path)
    store.append([Label("r1", "quality.item_0", True)], author="ana")
    (tmp_path / "annotations" / "label-broken.parquet").write_bytes(b"not parquet" * 10)
    with pytest.raises(AnnotationsFileError, match=r"label-broken\.parquet"):
        read_annotations(AnnotationsSpec(path=store.uri), "id", [], None)
    with pytest.raises(LabelPartError, match=r"label-broken\.parquet"):  # and in the review
        store.history()


def test_a_run_that_replaces_a_labelled_run_takes_its_labels_over(tmp_path):
    old, new = tmp_path / "run", tmp_path / "run.new"
    store_in(old).append([Label("r1", "quality.item_0", True)], author="ana")
    store_in(new).append([Label("r2", "quality.item_0", False)], author="ben")
    RunDirectory(str(new)).replace(RunDirectory(str(old)))
    assert annotations_of(store_in(old)) == {
        ("ana", "r1", "quality.item_0"): "true",
        ("ben", "r2", "quality.item_0"): "false",
    }
    assert not new.exists() and not (tmp_path / "run.replaced").exists()


def test_each_part_is_read_once_however_often_the_labels_are_read(tmp_path, monkeypatch):
    import pipeline.annotations.labels_store as labels_store

    store = store_in(tmp_path)
    store.append([Label("r1", "quality.item_0", True)], author="ana")
    reads = []
    read_table = labels_store.pq.read_table

    def counted(path, **options):
        reads.append(path)
        return read_table(path, **options)

    monkeypatch.setattr(labels_store.pq, "read_table", counted)
    assert store.current().height == 1
    store.append([Label("r2", "quality.item_0", False)], author="ana")
    assert store.current().height == 2 and store.current().height == 2
    assert len(reads) == 2  # the first part once, the second once
