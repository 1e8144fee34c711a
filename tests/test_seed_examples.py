"""The seeds' examples run as written: their own text, read from the seed documents beside
the checkout (../shared/seeds), and the repo's example spec that reproduces them."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.runner import run_job
from pipeline.spec_loader import load_spec

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
EXAMPLES = ROOT / "jobs" / "examples"
needs_seeds = pytest.mark.skipif(
    not SEEDS.is_dir(), reason=f"the seed documents are not at {SEEDS}"
)


def python_batch_seed() -> tuple[str, str]:
    """(the YAML scorer block, the snippet) exactly as the python-batch-scorer seed shows them."""
    text = (SEEDS / "python-batch-scorer.txt").read_text()
    start = text.index('    - type: "python_all_samples"')
    block = text[start : text.index("from __future__", start)].rstrip() + "\n"
    snippet = text[text.index("from __future__") : text.index("With config.field")]
    return block, snippet.rstrip() + "\n"


@needs_seeds
def test_the_repo_example_is_the_seed_text():
    block, snippet = python_batch_seed()
    assert block in (EXAMPLES / "python_all_samples.yaml").read_text()
    assert (EXAMPLES / "uniqueness_scorer.py").read_text() == snippet


@needs_seeds
@pytest.mark.ray
def test_the_seed_scorer_block_runs_on_the_seeds_table(tmp_path, ray_cluster):
    block, snippet = python_batch_seed()
    (tmp_path / "uniqueness_scorer.py").write_text(snippet)
    data = tmp_path / "answers.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "answer": ["Paris", "London", "Paris"]}), data)
    (tmp_path / "job.yaml").write_text(
        f"name: seed\ninput: {{path: {data}, id_column: id}}\n"
        f"output: {{path: {tmp_path / 'run'}}}\nconfig: {{field: answer}}\n"
        f"definition:\n  scorers:\n{block}"
    )
    result = run_job(load_spec(tmp_path / "job.yaml"))
    scores = pl.read_parquet(f"{result.run_dir}/scores/*.parquet").sort("id")
    # the seed's table: Paris 0.0, London 1.0, Paris 0.0
    column = scores["python_all_samples_0"].struct.field("is_unique")
    assert column.cast(pl.Float64).to_list() == [0.0, 1.0, 0.0]
    assert result.metrics["Uniqueness Rate"]["value"] == pytest.approx(1 / 3)


@pytest.mark.ray
def test_the_repo_example_spec_runs_as_written(tmp_path, monkeypatch, ray_cluster, demo_parquet):
    for name in ("python_all_samples.yaml", "uniqueness_scorer.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "data").mkdir()
    shutil.copy(demo_parquet, tmp_path / "data" / "demo.parquet")
    monkeypatch.chdir(tmp_path)

    result = run_job(load_spec("python_all_samples.yaml"))

    scores = pl.read_parquet(f"{result.run_dir}/scores/*.parquet")
    expected = pl.read_parquet(demo_parquet).select(
        "id",
        pl.when(pl.col("response").is_null())
        .then(True)
        .otherwise(pl.len().over("response") == 1)
        .alias("expected"),
    )
    got = scores.select("id", pl.col("python_all_samples_0").struct.field("is_unique")).join(
        expected, on="id"
    )
    assert got.height == expected.height
    assert (got["is_unique"] == got["expected"]).all()
    assert result.metrics["Uniqueness Rate"]["value"] == pytest.approx(got["expected"].mean())
