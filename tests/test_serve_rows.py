"""Online scoring without Ray: reading request rows, the request schema and the serve plan."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from serve_spec import serve_spec

from pipeline.plan import plan_of
from pipeline.serve.app import serve_plan
from pipeline.serve.rows import RequestError, RequestReader
from pipeline.spec_loader import parse_spec

ITEMS = [{"question": "Is it short?", "weight": 1.0}]


def good_row(**changes: object) -> dict[str, object]:
    return {"prompt": "Why?", "response": "Because.", "checklist": ITEMS, **changes}


@pytest.fixture
def reader(tmp_path: Path) -> RequestReader:
    spec = parse_spec(serve_spec(tmp_path / "model", tmp_path / "in.parquet", tmp_path / "out"))
    return RequestReader(plan_of(spec).judged_column_requirements(), max_rows=3)


def test_good_rows_become_a_table_of_the_judged_scorers_columns(reader: RequestReader) -> None:
    read = reader.read({"rows": [good_row(id="a", extra=1), good_row(response="No.")]})
    assert read.problems == []
    assert read.rows == [0, 1]
    # `model` is read only by the cross-sample scorer, which is not served
    assert read.table.column_names == ["prompt", "response", "checklist"]
    assert read.table["response"].to_pylist() == ["Because.", "No."]
    assert pa.types.is_list(read.table["checklist"].type)


def test_bad_rows_are_named_by_row_and_column_and_the_others_are_kept(
    reader: RequestReader,
) -> None:
    rows = [good_row(response=3), good_row(), {"prompt": "Why?", "checklist": ITEMS}, "text"]
    reader.max_rows = 4
    read = reader.read({"rows": rows})
    assert read.rows == [1]
    assert read.table.num_rows == 1
    found = {(p.row, p.field) for p in read.problems}
    assert found == {(0, "response"), (2, "response"), (3, "")}
    texts = [p.text() for p in read.problems]
    assert any(t.startswith("rows[0].response: ") and "needs text" in t for t in texts)
    assert any(t.startswith("rows[2].response: missing") for t in texts)


def test_a_list_column_given_text_is_a_row_problem(reader: RequestReader) -> None:
    read = reader.read({"rows": [good_row(checklist="Is it short?")]})
    assert [(p.row, p.field) for p in read.problems] == [(0, "checklist")]
    assert "a list" in read.problems[0].message


def test_null_is_a_value_scored_like_the_batch_jobs_null(reader: RequestReader) -> None:
    read = reader.read({"rows": [good_row(response=None)]})
    assert read.problems == []
    assert read.table.schema.field("response").type == pa.string()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ([good_row()], 400, '{"rows"'),
        ({"rows": []}, 400, "empty"),
        ({"rows": good_row()}, 400, "list"),
        ({"rows": [good_row()], "more": 1}, 400, "'more'"),
        ({"rows": [good_row()] * 4}, 413, "at most 3"),
    ],
)
def test_a_request_that_cannot_be_read_says_why(
    reader: RequestReader, body: object, status: int, words: str
) -> None:
    with pytest.raises(RequestError) as caught:
        reader.read(body)
    assert caught.value.status == status
    assert words in caught.value.message


def test_the_schema_describes_a_request(reader: RequestReader) -> None:
    schema = reader.schema()
    rows = schema["properties"]["rows"]
    assert (rows["minItems"], rows["maxItems"]) == (1, 3)
    row = schema["$defs"]["Row"]
    assert sorted(row["required"]) == ["checklist", "prompt", "response"]
    assert "target_column" in row["properties"]["response"]["description"]


def test_the_plan_serves_judged_scorers_and_warns_about_the_rest(tmp_path: Path) -> None:
    raw = serve_spec(tmp_path / "model", tmp_path / "in.parquet", tmp_path / "out")
    plan = serve_plan(plan_of(parse_spec(raw)), max_rows=8, batch_wait_s=0.002, env={})
    assert len(plan.warnings) == 1
    assert "same_model" in plan.warnings[0]
    raw["definition"]["scorers"] = raw["definition"]["scorers"][-1:]
    with pytest.raises(ValueError, match="no judged scorer to serve"):
        serve_plan(plan_of(parse_spec(raw)), max_rows=8, batch_wait_s=0.002, env={})


def test_a_judge_that_would_not_start_is_told_in_one_line() -> None:
    from jobs.serve_command import _raised

    message = (
        "Traceback (most recent call last):\n"
        '  File "vllm_judge.py", line 47, in __init__\n'
        "    self.llm = LLM(model=model)\n"
        "pydantic_core.ValidationError: 1 validation error for ModelConfig\n"
        "  Value error, max_model_len (10000000) is greater than the derived max_model_len\n"
        "    For further information visit https://errors.pydantic.dev\n"
    )
    assert _raised(message) == (
        "pydantic_core.ValidationError: 1 validation error for ModelConfig Value error, "
        "max_model_len (10000000) is greater than the derived max_model_len For further "
        "information visit https://errors.pydantic.dev"
    )


def test_rows_that_give_a_column_another_shape_are_named_and_the_rest_kept(
    reader: RequestReader,
) -> None:
    reader.max_rows = 4
    texts = good_row(checklist=["Is it short?"])
    read = reader.read({"rows": [good_row(), texts, good_row(response="No."), good_row()]})
    assert read.rows == [0, 2, 3]
    assert [(p.row, p.field) for p in read.problems] == [(1, "checklist")]
    assert "rows[0]" in read.problems[0].message


def test_a_column_of_two_kinds_is_one_problem(tmp_path: Path) -> None:
    raw = serve_spec(tmp_path / "model", tmp_path / "in.parquet", tmp_path / "out")
    raw["definition"]["scorers"][0]["history_column"] = "history"
    reader = RequestReader(plan_of(parse_spec(raw)).judged_column_requirements(), max_rows=3)
    read = reader.read({"rows": [good_row(history=5)]})
    assert [(p.row, p.field) for p in read.problems] == [(0, "history")]
