"""Incremental runs through the real engine and real Ray: night 2 adds a question, edits some
rows, drops and adds others; only what changed is judged, and every stored score equals a fresh
full run's. A changed judge setting reuses nothing (and says so), the earlier run may be on S3,
and a killed incremental run resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from conftest import NO_LABEL_FLOOR
from same_scores import assert_same_scores
from test_resume import run_killed_after_first_part
from test_s3_storage import BUCKET, options, s3_endpoint  # noqa: F401 (a fixture)

from pipeline.runner import RunResult, run_job
from pipeline.spec_loader import parse_spec

ROOT = Path(__file__).resolve().parents[1]
ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True}
QUESTIONS = ["Does the response answer the question?", "Is it polite?"]
ADDED = "Is it concise?"
EDITED = ["s00005", "s00006"]  # night 2 changes their responses
NIGHT_1 = slice(0, 30)  # rows of the demo data each night scores
NIGHT_2 = slice(2, 34)  # two rows left the corpus, four are new


def job(
    out: Path | str,
    data: Path,
    model: Path,
    questions: list[str],
    earlier: str | None = None,
    **judge: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "nightly",
        "input": {"path": str(data), "id_column": "id"},
        # two rows a shard: many parts (a killed run has some written)
        "output": {"path": str(out), "shard_mib": 0.0002},
        "judge": {
            "model": str(model),
            "engine_kwargs": ENGINE,
            "batch_size": 4,
            **NO_LABEL_FLOOR,
            **judge,
        },
        "definition": {
            "scorers": [
                {
                    "type": "checklist",
                    "key": "q",
                    "input_column": "prompt",
                    "target_column": "response",
                    "checklist": [{"question": q} for q in questions],
                }
            ]
        },
    }
    if earlier is not None:
        spec["incremental"] = {"from": earlier}
    return spec


def run(spec: dict[str, Any]) -> RunResult:
    return run_job(parse_spec(spec))


def scores(run_dir: Path | str, **storage: Any) -> pl.DataFrame:
    """Every stored score by id, without the judge's usage counts (a reused request's
    prefix-cache hits are the earlier run's)."""
    fs, path = fsspec.core.url_to_fs(str(run_dir), **storage)
    table = pads.dataset(f"{path}/scores", filesystem=fs, format="parquet").to_table()
    frame = pl.from_arrow(table.sort_by("id").select(["id", "q", "error"]))
    assert isinstance(frame, pl.DataFrame)
    fields = [f for f in frame.schema["q"].to_schema() if f != "usage"]
    kept = pl.struct(pl.col("q").struct.field(*fields))
    return frame.with_columns(pl.when(pl.col("q").is_not_null()).then(kept).alias("q"))


def judgments(run_dir: Path) -> pa.Table:
    return pq.read_table(run_dir / "judgments")


@pytest.fixture(scope="module")
def nights(tmp_path_factory, ray_cluster, tiny_model, demo_parquet) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("nights")
    demo = pq.read_table(demo_parquet)
    night1 = demo.slice(NIGHT_1.start, NIGHT_1.stop - NIGHT_1.start)
    night2 = demo.slice(NIGHT_2.start, NIGHT_2.stop - NIGHT_2.start)
    edited = pc.is_in(night2["id"], value_set=pa.array(EDITED))
    responses = pc.if_else(edited, pc.binary_join_element_wise(night2["response"], " (edited)", ""),
                           night2["response"])  # fmt: skip
    night2 = night2.set_column(night2.schema.get_field_index("response"), "response", responses)
    pq.write_table(night1, folder / "night1.parquet")
    pq.write_table(night2, folder / "night2.parquet")
    first = run(job(folder / "run1", folder / "night1.parquet", tiny_model, QUESTIONS))
    three = [*QUESTIONS, ADDED]
    second = run(
        job(folder / "run2", folder / "night2.parquet", tiny_model, three, str(folder / "run1"))
    )
    fresh = run(job(folder / "fresh", folder / "night2.parquet", tiny_model, three))
    return {"folder": folder, "first": first, "second": second, "fresh": fresh,
            "night1": night1, "night2": night2}  # fmt: skip


@pytest.mark.ray
@pytest.mark.engine
def test_night_two_judges_only_the_added_question_edited_and_new_rows(nights):
    night1, night2 = nights["night1"], nights["night2"]
    answered = night2.filter(pc.is_valid(night2["response"]))
    ids = set(answered["id"].to_pylist())
    kept = ids & set(night1["id"].to_pylist()) - set(EDITED)
    judged_again = ids - kept  # new and edited rows: every question
    block = nights["second"].manifest["incremental"]
    assert block["from"] == str(nights["folder"] / "run1")
    assert block["from_run_id"] == nights["first"].manifest["run_id"]
    assert block["nothing_reused_because"] is None
    judged_before = set(night1.filter(pc.is_valid(night1["response"]))["id"].to_pylist())
    assert block["rows_matched"] == len(judged_before & set(night2["id"].to_pylist()))
    assert block["requests_reused"] == 2 * len(kept)
    assert block["requests_judged"] == len(kept) + 3 * len(judged_again)
    share = block["requests_reused"] / (block["requests_reused"] + block["requests_judged"])
    assert block["requests_saved_share"] == pytest.approx(share)


@pytest.mark.ray
@pytest.mark.engine
def test_every_score_of_the_incremental_run_equals_a_fresh_full_runs(nights):
    folder = nights["folder"]
    assert_same_scores(scores(folder / "run2"), scores(folder / "fresh"))
    assert nights["fresh"].manifest["incremental"] is None


@pytest.mark.ray
@pytest.mark.engine
def test_every_run_records_its_judgments_fresh_and_reused(nights):
    folder = nights["folder"]
    fresh, second = judgments(folder / "fresh"), judgments(folder / "run2")
    assert fresh.num_rows == nights["fresh"].manifest["judge"]["requests"]
    assert sorted(zip(second["id"].to_pylist(), second["key"].to_pylist(), strict=True)) == sorted(
        zip(fresh["id"].to_pylist(), fresh["key"].to_pylist(), strict=True)
    )
    assert (
        pc.sum(second["reused"]).as_py()
        == nights["second"].manifest["incremental"]["requests_reused"]
    )
    fingerprints = nights["first"].manifest["judge"]["fingerprints"]
    assert set(fingerprints) == {"judge"} and len(fingerprints["judge"]) == 64


@pytest.mark.ray
@pytest.mark.engine
def test_a_changed_answer_shaping_judge_setting_judges_everything_again(nights, tiny_model):
    folder = nights["folder"]
    changed = run(
        job(
            folder / "run2-judge",
            folder / "night2.parquet",
            tiny_model,
            [*QUESTIONS, ADDED],
            str(folder / "run1"),
            min_label_mass=0.001,
        )
    )
    block = changed.manifest["incremental"]
    assert block["requests_reused"] == 0
    assert "fingerprint" in block["nothing_reused_because"]
    assert block["requests_judged"] == changed.manifest["judge"]["requests"] > 0


@pytest.mark.ray
@pytest.mark.engine
def test_the_earlier_run_may_be_on_s3(nights, tiny_model, s3_endpoint):  # noqa: F811
    folder = nights["folder"]
    store = fsspec.filesystem("s3", **options(s3_endpoint))
    store.put(str(folder / "run1"), f"{BUCKET}/nights/run1", recursive=True)
    earlier = f"s3://{BUCKET}/nights/run1"
    spec = job(folder / "run2-s3", folder / "night2.parquet", tiny_model,
               [*QUESTIONS, ADDED], earlier)  # fmt: skip
    spec["incremental"]["storage_options"] = options(s3_endpoint)
    result = run(spec)
    assert (
        result.manifest["incremental"]["requests_reused"]
        == (nights["second"].manifest["incremental"]["requests_reused"])
    )
    assert_same_scores(scores(folder / "run2-s3"), scores(folder / "fresh"))


@pytest.mark.ray
@pytest.mark.engine
def test_a_killed_incremental_run_resumes(nights, tiny_model):
    import yaml

    folder = nights["folder"]
    spec = job(folder / "run2-killed", folder / "night2.parquet", tiny_model,
               [*QUESTIONS, ADDED], str(folder / "run1"))  # fmt: skip
    path = folder / "run2-killed.yaml"
    path.write_text(yaml.safe_dump(spec))
    parts = folder / "run2-killed" / ".rayscore" / "scored" / "scores"
    run_killed_after_first_part(path, parts)
    assert list(parts.glob("part-*.parquet")), "no part was written before the driver was killed"
    assert (folder / "run2-killed" / ".rayscore" / "prior" / "_matched.json").exists()

    resumed = run(spec)
    assert resumed.manifest["resume"]["resumed"] is True
    assert (
        resumed.manifest["incremental"]["requests_reused"]
        == (nights["second"].manifest["incremental"]["requests_reused"])
    )
    assert_same_scores(scores(folder / "run2-killed"), scores(folder / "fresh"))


@pytest.mark.ray
@pytest.mark.engine
def test_a_two_pass_incremental_run_reuses_and_records_as_a_one_pass_run(nights, tiny_model):
    folder = nights["folder"]
    spec = job(folder / "run2-two-pass", folder / "night2.parquet", tiny_model,
               [*QUESTIONS, ADDED], str(folder / "run1"))  # fmt: skip
    spec["definition"]["scorers"].append(  # typed at run time: a second pass finishes the rows
        {
            "type": "python",
            "key": "parsed",
            "compute_score_snippet": "def compute_score(s):\n    return {'v': 1}\n",
            "columns": ["response"],
        }
    )
    result = run(spec)
    second = nights["second"].manifest["incremental"]
    block = result.manifest["incremental"]
    assert (block["requests_reused"], block["requests_judged"]) == (
        second["requests_reused"],
        second["requests_judged"],
    )
    assert_same_scores(scores(folder / "run2-two-pass"), scores(folder / "fresh"))
    assert judgments(folder / "run2-two-pass").num_rows == judgments(folder / "run2").num_rows
