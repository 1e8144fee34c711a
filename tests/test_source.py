"""Input checks run before Ray or any engine starts, and name file, column and spec key."""

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.source import InputError, resolve_input
from pipeline.spec_loader import parse_spec
from pipeline.storage.run_dir import RunDirectory, RunDirectoryExists


def spec_for(path: str, **scorer):
    return parse_spec(
        {
            "name": "t",
            "input": {"path": path, "id_column": "id"},
            "output": {"path": "unused"},
            "judge": {"model": "m/m"},
            "definition": {
                "scorers": [
                    {
                        "type": "checklist",
                        "key": "quality",
                        "input_column": "prompt",
                        "target_column": "response",
                        "checklist": [{"question": "ok?"}],
                        **scorer,
                    }
                ]
            },
        }
    )


def write(path: Path, **columns) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def good(path: Path, ids=("a", "b")) -> Path:
    n = len(ids)
    return write(path, id=list(ids), prompt=["p"] * n, response=["r"] * n)


def test_file_folder_and_glob_resolve_to_the_same_files(tmp_path):
    good(tmp_path / "d" / "part-0.parquet", ids=("a", "b"))
    good(tmp_path / "d" / "part-1.parquet", ids=("c",))
    for uri in (str(tmp_path / "d"), str(tmp_path / "d" / "*.parquet")):
        source = resolve_input(spec_for(uri))
        assert source.num_rows == 3 and len(source.files) == 2
    assert resolve_input(spec_for(str(tmp_path / "d" / "part-1.parquet"))).num_rows == 1


def test_missing_column_names_file_column_and_spec_key(tmp_path):
    path = write(tmp_path / "x.parquet", id=["a"], prompt=["p"], answer=["r"])
    with pytest.raises(InputError) as err:
        resolve_input(spec_for(str(path)))
    message = str(err.value)
    assert str(path) in message and "'response'" in message
    assert "definition.scorers.0.target_column" in message


def test_wrong_column_type_is_rejected(tmp_path):
    path = write(tmp_path / "x.parquet", id=["a"], prompt=["p"], response=[3])
    expected = "'response' is int64; definition.scorers.0.target_column needs text"
    with pytest.raises(InputError, match=re.escape(expected)):
        resolve_input(spec_for(str(path)))


def test_duplicate_and_null_ids_are_rejected(tmp_path):
    with pytest.raises(InputError, match=r"1 id\(s\) occur more than once, e.g. \['a'\]"):
        resolve_input(spec_for(str(good(tmp_path / "dup.parquet", ids=("a", "b", "a")))))
    nulls = write(tmp_path / "n.parquet", id=["a", None], prompt=["p", "p"], response=["r", "r"])
    with pytest.raises(InputError, match=r"1 null id\(s\)"):
        resolve_input(spec_for(str(nulls)))


def test_nothing_to_read_is_an_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        resolve_input(spec_for(str(tmp_path / "missing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no Parquet files"):
        resolve_input(spec_for(str(tmp_path / "empty")))


def test_an_existing_run_is_never_overwritten_without_asking(tmp_path):
    from pipeline.attempt import check_job

    data = write(tmp_path / "in.parquet", id=["a"], prompt=["p"], response=["r"])
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text("{}")
    spec = spec_for(str(data)).model_copy(
        update={"output": spec_for(str(data)).output.model_copy(update={"path": str(run)})}
    )
    with pytest.raises(RunDirectoryExists, match="--overwrite"):
        check_job(spec, None)
    attempt = check_job(spec, None, overwrite=True)
    attempt.release()
    # the new run is built beside the old one, which stays whole until it is replaced
    assert attempt.replaces and attempt.run_dir.path != str(run)
    assert (run / "manifest.json").read_text() == "{}"
    assert RunDirectory(str(run)).state().value == "finished"
