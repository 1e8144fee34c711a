"""The `rayscore` command: user errors exit 2 with a message, before Ray or any engine starts."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SPEC = """
name: cli
input: {{path: {data}, id_column: id}}
output: {{path: {out}}}
judge: {{model: {model}}}
definition:
  scorers:
    - {{type: checklist, key: q, target_column: response, checklist: [{{question: "ok?"}}]}}
"""


def rayscore(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(Path.cwd()), "PATH": "/usr/bin:/bin"},
    )


def setup(tmp_path: Path, **columns) -> Path:
    pq.write_table(pa.table(columns or {"id": ["a"], "response": ["r"]}), tmp_path / "in.parquet")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    spec = tmp_path / "job.yaml"
    spec.write_text(SPEC.format(data="in.parquet", out="run", model="model"))
    return spec


def test_validate_reports_a_missing_column_with_file_and_spec_key(tmp_path):
    spec = setup(tmp_path, id=["a"], answer=["r"])
    proc = rayscore("validate", str(spec), cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        "in.parquet: no column 'response' (needed by definition.scorers.0.target_column)"
        in proc.stderr
    )


def test_validate_accepts_a_good_spec(tmp_path):
    proc = rayscore("validate", str(setup(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 rows in 1 file(s)" in proc.stdout


def test_run_refuses_to_overwrite_an_existing_run(tmp_path):
    spec = setup(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text("{}")
    proc = rayscore("run", str(spec), cwd=tmp_path)
    assert proc.returncode == 2
    assert "already holds files" in proc.stderr and "--overwrite" in proc.stderr
    assert (tmp_path / "run" / "manifest.json").read_text() == "{}"


def test_run_names_a_missing_model_folder(tmp_path):
    spec = setup(tmp_path)
    spec.write_text(SPEC.format(data="in.parquet", out="run", model="./models/none"))
    proc = rayscore("run", str(spec), cwd=tmp_path)
    assert proc.returncode == 2 and "judge.model: no model folder" in proc.stderr


def test_schema_prints_the_spec_json_schema(tmp_path):
    proc = rayscore("schema", cwd=tmp_path)
    assert proc.returncode == 0
    assert "definition" in json.loads(proc.stdout)["properties"]


@pytest.mark.ray
def test_run_names_scorers_and_metrics_by_display_name(tmp_path):
    pq.write_table(pa.table({"id": ["a", "b"], "response": ["x", "x"]}), tmp_path / "in.parquet")
    (tmp_path / "job.yaml").write_text(
        "name: names\ninput: {path: in.parquet, id_column: id}\noutput: {path: run}\n"
        "definition:\n  scorers:\n"
        "    - {type: uniqueness, display_name: Duplicate check, purpose: qa, column: response,\n"
        "       metrics: [{type: mean, field: is_unique, name: unique share}]}\n"
    )
    proc = rayscore("run", "job.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Duplicate check (uniqueness, column uniqueness_0)  [qa]" in proc.stdout
    assert "unique share [Duplicate check]: 0.0" in proc.stdout
