"""Incremental runs, checked up front and without Ray: the spec section and --from, the
earlier run refused when unfinished, and a reason said when nothing of it can be reused."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.incremental.earlier_run import EarlierRunError, check_earlier_run
from pipeline.incremental.judgments import PRIOR_COLUMN, RESULT_FIELDS, prior_by_row
from pipeline.incremental.prior import SHARD_FOLDER
from pipeline.incremental.spec import IncrementalSpec, with_incremental_from
from pipeline.incremental.summary import incremental_line
from pipeline.spec import JobSpec
from pipeline.stages.read_shards import SHARD_COLUMN


def spec(**extra) -> JobSpec:
    return JobSpec.model_validate(
        {
            "name": "n",
            "input": {"path": "in.parquet", "id_column": "id"},
            "output": {"path": "out", "storage_options": {"anon": True}},
            "definition": {"scorers": [{"type": "uniqueness", "key": "u", "column": "response"}]},
            **extra,
        }
    )


def finished_run(folder, fingerprints, judgments=True):
    folder.mkdir()
    manifest = {"run_id": "r1", "judge": {"fingerprints": fingerprints}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    if judgments:
        (folder / "judgments").mkdir()
        pq.write_table(pa.table({"id": ["a"]}), folder / "judgments" / "part-0.parquet")
    return folder


def test_the_spec_takes_incremental_from_and_the_cli_flag_sets_it():
    assert spec(incremental={"from": "runs/a"}).incremental.from_ == "runs/a"
    with pytest.raises(ValueError, match="incremental"):
        spec(incremental={"from": "runs/a", "form": 1})
    flagged = with_incremental_from(spec(), "runs/b")
    assert flagged.incremental == IncrementalSpec.model_validate({"from": "runs/b"})
    assert flagged.dump_without_secrets()["incremental"]["from"] == "runs/b"
    assert with_incremental_from(spec(), None).incremental is None


def test_an_unfinished_earlier_run_is_refused(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(EarlierRunError, match="not a finished rayscore run"):
        check_earlier_run(IncrementalSpec.model_validate({"from": str(tmp_path / "half")}), {}, {})


def test_nothing_reusable_is_said_with_its_reason(tmp_path):
    old = finished_run(tmp_path / "old", {"default": "aaa"}, judgments=False)
    earlier = check_earlier_run(IncrementalSpec.model_validate({"from": str(old)}), {}, {})
    assert "no judgments/" in (earlier.nothing_reused_because or "")

    other = finished_run(tmp_path / "other", {"default": "aaa"})
    section = IncrementalSpec.model_validate({"from": str(other)})
    assert check_earlier_run(section, {}, {"default": "aaa"}).nothing_reused_because is None
    changed = check_earlier_run(section, {}, {"default": "bbb"})
    assert "fingerprint" in (changed.nothing_reused_because or "")
    ints = check_earlier_run(section, {}, {"default": "aaa"}, pa.int64())
    assert "ids are string, this input's int64" in (ints.nothing_reused_because or "")
    line = incremental_line(
        {"from": str(other), "nothing_reused_because": changed.nothing_reused_because}
    )
    assert line is not None and "nothing reused" in line and "fingerprint" in line


def test_each_row_gets_its_own_earlier_judgments_and_a_new_row_none():
    prior = pa.table(
        {
            "id": ["b", "a", "b", "gone"],
            "key": pa.array([bytes([i]) * 16 for i in range(4)], pa.binary(16)),
            "probs": [[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.5, 0.5]],
            "label_mass": [0.5, 0.6, 0.7, 0.8],
            "prompt_tokens": [1, 2, 3, 4],
            "cached_tokens": [0, 0, 0, 0],
        },
        schema=pa.schema([pa.field("id", pa.string()), *RESULT_FIELDS]),
    )
    lists = prior_by_row(pa.array(["a", "new", "b"]), prior).to_pylist()
    assert [[j["label_mass"] for j in row] for row in lists] == [[0.6], [], [0.5, 0.7]]
    assert PRIOR_COLUMN.startswith("__rayscore")
    assert SHARD_FOLDER.format(3) == f"{SHARD_COLUMN}=3"  # as Ray Data names the partitions


def test_the_printed_line_says_what_was_reused_and_from_where():
    block = {
        "from": "runs/night1",
        "rows_matched": 26,
        "requests_reused": 52,
        "requests_judged": 38,
        "requests_saved_share": 0.577778,
        "nothing_reused_because": None,
    }
    assert incremental_line(block) == (
        "incremental: 52 judge requests reused from runs/night1 (26 rows matched), 38 judged "
        "(58% saved)"
    )
    assert incremental_line(None) is None
