"""Cross-sample scorers through a real local Ray cluster (no judge, so no engine starts)."""

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

pytestmark = pytest.mark.ray

SEED_SNIPPET = (
    "from collections import Counter\n"
    "def compute_scores(samples):\n"
    "    values = [s.get('<< config.field >>') for s in samples]\n"
    "    counter = Counter(values)\n"
    "    return [{'is_unique': counter[v] == 1 if v is not None else True} for v in values]\n"
)
ORDER_SNIPPET = (
    "async def compute_scores(samples):\n"
    "    return [{'scores': {'position': i, 'echo': s['id']}, 'metadata': {'n': len(samples)}}\n"
    "            for i, s in enumerate(samples)]\n"
)


def spec(tmp_path: Path, data: Path, scorers: list[dict], out: str = "run") -> dict:
    return {
        "name": "cross",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(tmp_path / out)},
        "definition": {"scorers": scorers},
    }


def scores(result) -> pl.DataFrame:
    return pl.read_parquet(f"{result.run_dir}/scores/*.parquet")


def test_the_seed_uniqueness_example(tmp_path, ray_cluster):
    data = tmp_path / "seed.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "answer": ["Paris", "London", "Paris"]}), data)
    scorer = {
        "type": "python_all_samples",
        "key": "uniq",
        "compute_scores_snippet": SEED_SNIPPET,
        "config": {"field": "answer"},
        "metrics": [{"type": "mean", "field": "is_unique", "name": "Uniqueness Rate"}],
    }
    result = run_job(parse_spec(spec(tmp_path, data, [scorer])))
    out = scores(result).sort("id")
    assert out["uniq"].struct.field("is_unique").to_list() == [False, True, False]
    assert result.metrics["Uniqueness Rate"]["value"] == pytest.approx(1 / 3)
    assert result.manifest["model"] is None and result.manifest["rows"]["out"] == 3


def test_python_scorer_sees_samples_in_dataset_order_across_files(tmp_path, ray_cluster):
    folder = tmp_path / "parts"
    folder.mkdir()
    ids = [f"x{n:03d}" for n in (7, 3, 9, 1, 5, 2, 8, 0, 6, 4, 11, 10)]
    for part in range(3):
        chunk = ids[part * 4 : part * 4 + 4]
        pq.write_table(pa.table({"id": chunk, "text": chunk}), folder / f"part-{part}.parquet")
    scorer = {"type": "python_all_samples", "key": "o", "compute_scores_snippet": ORDER_SNIPPET}
    result = run_job(parse_spec(spec(tmp_path, folder, [scorer])))
    out = scores(result).unnest("o")
    assert out.height == len(ids)
    assert (out["echo"] == out["id"]).all()  # each row got its own sample's entry back
    by_position = out.sort("position")
    assert by_position["id"].to_list() == ids  # samples came in dataset order
    assert json.loads(out["metadata"][0]) == {"n": 12}


def test_a_failing_snippet_marks_every_row_and_the_job_finishes(tmp_path, ray_cluster):
    data = tmp_path / "d.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "t": ["x", "y"]}), data)
    bad = {
        "type": "python_all_samples",
        "key": "bad",
        "compute_scores_snippet": "def compute_scores(samples):\n    return samples[:1]\n",
    }
    result = run_job(parse_spec(spec(tmp_path, data, [bad])))
    out = scores(result)
    assert out.height == 2
    assert out["error"].str.contains("bad: compute_scores failed: ScorerOutputError").all()
    assert result.manifest["rows"]["errored"] == 2


def test_exact_and_near_duplicates_and_score_records(tmp_path, ray_cluster):
    base = "the quick brown fox jumps over the lazy dog near the river bank on a sunny day"
    texts = {
        "a": base,
        "b": "The quick  brown fox jumps over the lazy dog near the river bank on a sunny day",
        "c": base + " again",
        "d": "a completely different sentence about cooking pasta with tomato sauce at home",
        "e": None,
    }
    data = tmp_path / "dups.parquet"
    pq.write_table(pa.table({"id": list(texts), "response": list(texts.values())}), data)
    scorers = [
        {
            "type": "uniqueness",
            "key": "exact",
            "column": "response",
            "metrics": [{"type": "mean", "field": "is_unique", "name": "unique rate"}],
        },
        {
            "type": "near_duplicates",
            "key": "near",
            "column": "response",
            "threshold": 0.7,
            "shingle_size": 3,
        },
    ]
    result = run_job(parse_spec(spec(tmp_path, data, scorers)))
    out = scores(result).sort("id")
    exact = out["exact"].struct.unnest()
    assert exact["is_unique"].to_list() == [False, False, True, True, True]
    assert exact["duplicate_count"].to_list() == [1, 1, 0, 0, 0]
    assert exact["duplicate_group"][0] == exact["duplicate_group"][1] is not None
    near = out["near"].struct.unnest()
    assert near["is_near_duplicate"].to_list() == [True, True, True, False, False]
    assert near["near_dup_cluster"].to_list() == ["a", "a", "a", None, None]
    assert result.metrics["unique rate"]["value"] == pytest.approx(3 / 5)

    records = pl.read_parquet(f"{result.run_dir}/scores_long/*.parquet")
    assert set(records.columns) >= {
        "sample_id",
        "name",
        "value",
        "string_value",
        "data_type",
        "source",
        "comment",
        "metadata",
        "scorer_key",
        "run_id",
        "created_at",
    }
    assert records.height == 5 * 3 + 5 * 2
    flags = records.filter(pl.col("name") == "exact")  # the primary field: the scorer's name
    assert set(flags["data_type"]) == {"BOOLEAN"} and set(flags["source"]) == {"EVAL"}
    clusters = records.filter(pl.col("name") == "near.near_dup_cluster")
    assert set(clusters["data_type"]) == {"CATEGORICAL"}


def test_score_configs_trace_fields_and_display_names_through_a_job(tmp_path, ray_cluster):
    data = tmp_path / "acc.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["a", "b", "c"],
                "score": [0.25, 1.5, 0.75],
                "env": ["prod", "prod", "dev"],
                "labels": [["x"], [], ["y", "z"]],
            }
        ),
        data,
    )
    raw = spec(
        tmp_path,
        data,
        [
            {
                "type": "python_all_samples",
                "display_name": "Accuracy",
                "purpose": "qa",
                "compute_scores_snippet": (
                    "def compute_scores(samples):\n"
                    "    return [{'accuracy': s['score']} for s in samples]\n"
                ),
                "columns": ["score"],
                "score_configs": {"accuracy": {"data_type": "NUMERIC", "min": 0, "max": 1}},
                "metrics": [{"type": "mean", "field": "accuracy", "name": "mean accuracy"}],
            }
        ],
    )
    raw["input"]["trace"] = {"environment": "env", "tags": "labels"}
    result = run_job(parse_spec(raw))

    out = scores(result).sort("id")
    assert out["error"].to_list() == [
        None,
        "python_all_samples_0.accuracy: 1.5 is outside [0.0, 1.0]",
        None,
    ]
    records = pl.read_parquet(f"{result.run_dir}/scores_long/*.parquet").sort("sample_id")
    assert records["sample_id"].to_list() == ["a", "c"]  # no record for the value out of range
    assert set(records["name"]) == {"Accuracy.accuracy"} and set(records["purpose"]) == {"qa"}
    assert records["environment"].to_list() == ["prod", "dev"]
    assert records["tags"].to_list() == [["x"], ["y", "z"]]
    configs = json.loads((Path(result.run_dir) / "score_configs.json").read_text())
    assert configs["Accuracy.accuracy"]["max"] == 1.0
    assert result.metrics["mean accuracy"]["scorer_name"] == "Accuracy"
    assert result.manifest["scorers"] == [
        {"key": "python_all_samples_0", "type": "python_all_samples", "name": "Accuracy",
         "purpose": "qa"}
    ]  # fmt: skip
