"""Cross-sample scorers through a real local Ray cluster (no judge, so no engine starts)."""

import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec
from scorers.cross_sample.near_duplicates import band_buckets, clusters
from scorers.cross_sample.spec import NearDuplicatesSpec, UniquenessSpec
from scorers.cross_sample.uniqueness import normalize

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


def corpus_with_duplicates(rows: int) -> list[str | None]:
    """Exact copies with case and spacing changed, near copies (one word changed), nulls,
    empty and whitespace-only strings, and unique texts."""
    rng = random.Random(7)
    words = "the a river city answer model water cold hot data table row column sum".split()
    texts: list[str | None] = []
    for n in range(rows):
        roll = rng.random()
        earlier = [t for t in texts[-50:] if t and t.strip()]
        if roll < 0.05:
            texts.append(None)
        elif roll < 0.1:
            texts.append(rng.choice(["", "   ", "\t"]))
        elif earlier and roll < 0.3:
            texts.append("  " + rng.choice(earlier).upper() + " ")
        elif earlier and roll < 0.4:
            near = rng.choice(earlier).split()
            near[rng.randrange(len(near))] = rng.choice(words)
            texts.append(" ".join(near))
        else:
            texts.append(" ".join(rng.choices(words, k=rng.randint(12, 20))) + f" #{n}")
    return texts


def expected_exact(ids: list[str], texts: list[str | None]) -> dict[str, dict]:
    """The uniqueness labels as the driver-side implementation gave them: rows grouped by
    their normalised text (null text is unique), a group named by BLAKE2b-96 of it."""
    spec = UniquenessSpec(type="uniqueness", key="exact", column="response")
    normal = [None if t is None else normalize(t, spec) for t in texts]
    counts = Counter(t for t in normal if t is not None)
    out = {}
    for row_id, text in zip(ids, normal, strict=True):
        shared = text is not None and counts[text] > 1
        out[row_id] = {
            "is_unique": not shared,
            "duplicate_count": counts[text] - 1 if shared else 0,
            "duplicate_group": (
                hashlib.blake2b(text.encode(), digest_size=12).hexdigest() if shared else None
            ),
        }
    return out


def expected_near(ids: list[str], texts: list[str | None], spec: NearDuplicatesSpec) -> dict:
    """Near-duplicate labels as the driver-side implementation gave them: an edge from each
    row to the smallest id of every band bucket it shares, clusters of those edges."""
    first: dict[tuple[int, int], str] = {}
    members: dict[tuple[int, int], list[str]] = {}
    for row_id, buckets in zip(ids, band_buckets(texts, spec), strict=True):
        for band, bucket in enumerate(buckets or []):
            members.setdefault((band, bucket), []).append(row_id)
    for key, rows in members.items():
        first[key] = min(rows)
    edges = [(first[k], r) for k, rows in members.items() if len(rows) > 1 for r in rows]
    cluster_of = clusters((a, b) for a, b in edges if a != b)
    return {
        row_id: {
            "near_dup_cluster": cluster_of.get(row_id),
            "is_near_duplicate": row_id in cluster_of,
        }
        for row_id in ids
    }


def test_grouped_scorers_over_many_blocks_and_partitions_equal_the_driver_side_labels(
    tmp_path, ray_cluster, monkeypatch
):
    from pipeline.stages import cross_sample as cross_sample_stage

    monkeypatch.setattr(cross_sample_stage, "ROWS_PER_SHUFFLE_PARTITION", 150)
    monkeypatch.setattr(cross_sample_stage, "ROWS_PER_BLOCK", 100)
    texts = corpus_with_duplicates(1200)
    ids = [f"r{n:05d}" for n in range(len(texts))]
    folder = tmp_path / "parts"
    folder.mkdir()
    for part in range(3):
        rows = slice(part * 400, part * 400 + 400)
        table = pa.table({"id": ids[rows], "response": pa.array(texts[rows], pa.string())})
        pq.write_table(table, folder / f"part-{part}.parquet", row_group_size=60)
    near = {"type": "near_duplicates", "key": "near", "column": "response", "threshold": 0.7,
            "shingle_size": 3}  # fmt: skip
    exact = {"type": "uniqueness", "key": "exact", "column": "response"}
    result = run_job(parse_spec(spec(tmp_path, folder, [exact, near])))

    out = scores(result).sort("id")
    assert out["id"].to_list() == ids
    assert dict(zip(ids, out["exact"].to_list(), strict=True)) == expected_exact(ids, texts)
    near_spec = NearDuplicatesSpec(**near)
    assert dict(zip(ids, out["near"].to_list(), strict=True)) == expected_near(
        ids, texts, near_spec
    )
    assert 100 < sum(not e["is_unique"] for e in out["exact"].to_list()) < 600
    assert out["error"].is_null().all()
