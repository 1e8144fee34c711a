"""Bad input through the `rayscore` command: one `rayscore: ...` line naming the file, key,
column or row, exit status 2, no traceback, and nothing started (every case fails in the
checks that run before Ray or any engine).

Each case runs through `rayscore validate` and `rayscore run`.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_cli import rayscore

from pipeline.storage.output_check import OutputNotWritable, check_output_writable

HEAD = """name: bad
input: {{path: {data}, id_column: id}}
output: {{path: {out}}}
judge: {{model: {model}}}
definition:
  scorers:
"""
CHECKLIST = '[{question: "ok?"}]'
SCORER = "    - {{type: checklist, key: q, target_column: response, checklist: {checklist}}}\n"
COMMANDS = pytest.mark.parametrize("command", ["validate", "run"])


def spec_text(
    scorer: str = SCORER.format(checklist=CHECKLIST),
    data: str = "in.parquet",
    out: str = "run",
    model: str = "model",
) -> str:
    return HEAD.format(data=data, out=out, model=model) + scorer


def project(tmp_path: Path, spec: str | None = None, table: pa.Table | None = None) -> Path:
    """in.parquet (one good row unless `table`), a model folder and job.yaml."""
    default = pa.table({"id": ["a"], "response": ["r"]})
    pq.write_table(default if table is None else table, tmp_path / "in.parquet")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    (tmp_path / "job.yaml").write_text(spec_text() if spec is None else spec)
    return tmp_path


def refused(command: str, cwd: Path, *culprits: str) -> str:
    proc = rayscore(command, "job.yaml", cwd=cwd)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.startswith("rayscore: "), proc.stderr
    for culprit in culprits:
        assert culprit in proc.stderr, proc.stderr
    assert not (cwd / "run").exists()
    return proc.stderr


def scorer(checklist: str, extra: str = "") -> str:
    return (
        "    - {type: checklist, key: q, target_column: response, "
        f"checklist: {checklist}{extra}}}\n"
    )


# 1. nothing to read


@COMMANDS
def test_missing_input_path(tmp_path, command):
    project(tmp_path, spec_text(data="nope.parquet"))
    refused(command, tmp_path, "input.path:", "nope.parquet", "does not exist")


@COMMANDS
def test_input_with_no_rows(tmp_path, command):
    empty = pa.table({"id": pa.array([], pa.string()), "response": pa.array([], pa.string())})
    project(tmp_path, table=empty)
    refused(command, tmp_path, "input.path:", "in.parquet", "has no rows")


@COMMANDS
def test_folder_without_parquet_files(tmp_path, command):
    project(tmp_path, spec_text(data="d"))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "rows.csv").write_text("id,response\n")
    refused(command, tmp_path, "input.path: no Parquet files found", "/d'", ".parquet")


# 2. a file that is not Parquet


@COMMANDS
def test_corrupt_parquet_file_is_named(tmp_path, command):
    project(tmp_path, spec_text(data="d"))
    (tmp_path / "d").mkdir()
    pq.write_table(pa.table({"id": ["a"], "response": ["r"]}), tmp_path / "d" / "0.parquet")
    (tmp_path / "d" / "1.parquet").write_bytes(b"not parquet at all" * 10)
    refused(command, tmp_path, "d/1.parquet: not a readable Parquet file")


# 3. and 4. columns


@COMMANDS
def test_misspelled_column_lists_columns_and_the_closest_name(tmp_path, command):
    project(tmp_path, table=pa.table({"id": ["a"], "respons": ["r"]}))
    refused(
        command,
        tmp_path,
        "in.parquet: no column 'response'",
        "definition.scorers.0.target_column",
        "columns are ['id', 'respons']",
        "did you mean 'respons'?",
    )


@COMMANDS
def test_missing_column_without_a_close_name(tmp_path, command):
    stderr = refused(
        command,
        project(tmp_path, table=pa.table({"id": ["a"], "text": ["r"]})),
        "no column 'response'",
        "columns are ['id', 'text']",
    )
    assert "did you mean" not in stderr


@COMMANDS
def test_wrong_column_type(tmp_path, command):
    project(tmp_path, table=pa.table({"id": ["a"], "response": [1]}))
    refused(
        command,
        tmp_path,
        "in.parquet: column 'response' is int64",
        "definition.scorers.0.target_column needs text",
    )


@COMMANDS
def test_files_that_disagree_on_a_column_type(tmp_path, command):
    project(tmp_path, spec_text(data="d"))
    (tmp_path / "d").mkdir()
    pq.write_table(pa.table({"id": ["a"], "response": ["r"]}), tmp_path / "d" / "0.parquet")
    pq.write_table(pa.table({"id": [1], "response": ["r"]}), tmp_path / "d" / "1.parquet")
    refused(command, tmp_path, "d/1.parquet: column 'id' is int64 here but string in")


# 5. ids


@COMMANDS
def test_null_ids_name_file_and_rows(tmp_path, command):
    project(tmp_path, table=pa.table({"id": ["a", None, "c"], "response": ["r", "s", "t"]}))
    refused(command, tmp_path, "in.parquet: input.id_column 'id' has 1 null id(s)", "row(s) [1]")


@COMMANDS
def test_duplicate_ids_name_examples(tmp_path, command):
    project(tmp_path, table=pa.table({"id": ["a", "b", "a"], "response": ["r", "s", "t"]}))
    refused(command, tmp_path, "input.id_column 'id'", "occur more than once, e.g. ['a']")


# 6. and 7. the spec's keys


@COMMANDS
@pytest.mark.parametrize(
    ("checklist", "extra", "culprits"),
    [
        ("[]", "", ("definition.scorers.0: checklist is empty",)),
        ("[{weight: 3}]", "", ("definition.scorers.0.checklist.0.question: Field required",)),
        ('[{question: "ok?", weight: 101}]', "", ("definition.scorers.0.checklist.0.weight",)),
        ('[{question: "ok?", weight: -1}]', "", ("definition.scorers.0.checklist.0.weight",)),
        (
            CHECKLIST,
            ", metrics: [{type: meen, field: primary_score}]",
            ("definition.scorers.0.metrics.0.type", "got 'meen'"),
        ),
        (CHECKLIST, ", checklst: 1", ("definition.scorers.0.checklst: unknown key",)),
    ],
    ids=["empty", "no-question", "weight-101", "weight-neg", "metric-type", "unknown-key"],
)
def test_malformed_scorer_names_the_key(tmp_path, command, checklist, extra, culprits):
    project(tmp_path, spec_text(scorer(checklist, extra)))
    refused(command, tmp_path, "job.yaml: invalid job spec", *culprits)


@COMMANDS
def test_unknown_scorer_type(tmp_path, command):
    bad = SCORER.format(checklist=CHECKLIST).replace("checklist,", "checklst,")
    project(tmp_path, spec_text(bad))
    refused(command, tmp_path, "definition.scorers.0: unknown scorer type 'checklst'", "known:")


@COMMANDS
def test_unknown_top_level_key(tmp_path, command):
    project(tmp_path, "nmae: x\n" + spec_text())
    refused(command, tmp_path, "job.yaml: invalid job spec", "nmae: unknown key")


# 8. YAML


@COMMANDS
def test_invalid_yaml_gives_the_line(tmp_path, command):
    project(tmp_path, spec_text() + "  extra: [unclosed\n")
    refused(command, tmp_path, "job.yaml: not valid YAML at line 9")


@COMMANDS
def test_spec_that_is_not_utf8(tmp_path, command):
    project(tmp_path)
    (tmp_path / "job.yaml").write_bytes(b"name: \xff\xfe\n")
    refused(command, tmp_path, "job.yaml: not UTF-8 text")


# 9. !include


@COMMANDS
def test_include_outside_the_spec_folder(tmp_path, command):
    project(tmp_path, spec_text(scorer(CHECKLIST, ", custom_prompt: !include ../x.md")))
    refused(command, tmp_path, "job.yaml: line 7: !include '../x.md'", "outside the spec's folder")


@COMMANDS
def test_include_of_a_missing_file(tmp_path, command):
    project(tmp_path, spec_text(scorer(CHECKLIST, ", custom_prompt: !include x.md")))
    refused(command, tmp_path, "job.yaml: line 7: !include 'x.md': file not found")


# 10. templates


@COMMANDS
def test_unknown_template_placeholder(tmp_path, command):
    prompt = ", custom_prompt: 'Is {target} right? {question} {answr}'"
    project(tmp_path, spec_text(scorer(CHECKLIST, prompt)))
    refused(command, tmp_path, "definition.scorers.0: template uses {answr}", "available:")


# 11. output


@COMMANDS
def test_output_path_under_a_file(tmp_path, command):
    project(tmp_path, spec_text(out="blocker/run"))
    (tmp_path / "blocker").write_text("a file, not a folder")
    refused(command, tmp_path, "output.path: cannot write to", "blocker is a file, not a folder")


@COMMANDS
def test_output_path_that_is_a_file(tmp_path, command):
    project(tmp_path, spec_text(out="out.txt"))
    (tmp_path / "out.txt").write_text("x")
    refused(command, tmp_path, "output.path: cannot write to", "out.txt': it is a file")


def test_output_check_probes_the_nearest_existing_folder(tmp_path, monkeypatch):
    check_output_writable(str(tmp_path / "new" / "run"))
    assert not (tmp_path / "new").exists()
    assert list(tmp_path.iterdir()) == []

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("fsspec.implementations.local.LocalFileSystem.open", denied)
    with pytest.raises(OutputNotWritable, match=r"cannot write to .*: Permission denied"):
        check_output_writable(str(tmp_path / "new" / "run"))


# 12. the judge model


@COMMANDS
def test_missing_model_folder(tmp_path, command):
    project(tmp_path, spec_text(model="./models/none"))
    refused(command, tmp_path, "judge.model: no model folder", "models/none")
