"""`rayscore review` works out what it knows of a finished run once per review, not per page:
its checklist scorers, primary fields, item record names, group and text columns, the
samples whose judges disagree and the input's scan plan (hand-made runs, no judge). The
input's rows are still read by each query."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from review_runs import RIVAL_ANSWERS, make_run, make_two_judge_run

import jobs.review.review_run as review_run
from jobs.item_names import item_name, item_name_expr
from jobs.review.access import cookie_name
from jobs.review.app import create_app
from jobs.review.review_run import ReviewRun, open_review

TOKEN = "secret-token"
PAGES = ("/samples", "/samples?q=rare", "/samples/r1", "/samples/r2", "/queue", "/overview")


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    make_run(tmp_path / "run")
    return tmp_path / "run"


def client_for(run: ReviewRun) -> TestClient:
    client = TestClient(create_app(run, TOKEN))
    client.cookies.set(cookie_name(None), TOKEN)
    return client


def counting(calls: Counter[str], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return function(*args, **kwargs)

    return counted


def test_pages_work_out_the_runs_scorers_and_columns_once(run_dir, monkeypatch):
    calls: Counter[str] = Counter()
    for name in ("primary_fields", "hooks_named", "parse_scorer"):
        monkeypatch.setattr(review_run, name, counting(calls, name, getattr(review_run, name)))
    client = client_for(open_review(str(run_dir), author="ana"))
    for _ in range(2):
        for path in PAGES:
            assert client.get(path).status_code == 200, path
    # one scorer in the manifest and one in the spec: each looked up once for the whole review
    assert calls == {"primary_fields": 1, "hooks_named": 1, "parse_scorer": 1}


def test_each_method_returns_the_value_it_worked_out_first(run_dir):
    run = open_review(str(run_dir), author="ana")
    for method in (
        run.item_scorers,
        run.item_label_name,
        run.group_columns,
        run.text_columns,
    ):
        assert method() is method(), method.__name__
    assert run.primary_field("quality") == "primary_score"
    assert [s.key for s in run.item_scorers()] == ["quality"]
    assert run.group_columns() == ["model"]
    assert run.text_columns() == ["prompt", "response"]


def test_the_input_scan_is_planned_once_but_reads_the_rows_each_query(run_dir, monkeypatch):
    input_uri = str(run_dir / "in.parquet")
    looked_up: Counter[str] = Counter()
    url_to_fs = review_run.fsspec.core.url_to_fs

    def counted(uri: str, **options: Any) -> Any:
        looked_up[uri] += 1
        return url_to_fs(uri, **options)

    monkeypatch.setattr(review_run.fsspec.core, "url_to_fs", counted)
    client = client_for(open_review(str(run_dir), author="ana"))
    found = re.findall(
        r'class="sample-link" href="/samples/([^"]+)"', client.get("/samples?q=rare").text
    )
    assert found == ["r42"]
    inputs = pl.read_parquet(run_dir / "in.parquet")
    moved = inputs.with_columns(
        pl.when(pl.col("id") == "r7")
        .then(pl.lit("now RARE"))
        .otherwise(pl.lit("plain"))
        .alias("response")
    )
    moved.write_parquet(run_dir / "in.parquet")
    for _ in range(3):
        found = re.findall(
            r'class="sample-link" href="/samples/([^"]+)"', client.get("/samples?q=rare").text
        )
        assert found == ["r7"]
    assert client.get("/samples/r7").status_code == 200
    assert looked_up[input_uri] == 2  # the scan plan, and the check that the input changed


def test_an_item_record_name_is_its_scorers_name_and_index():
    items = pl.DataFrame({"scorer": ["q", "q", "other"], "index": [0, 2, 1]})
    names = items.select(item_name_expr({"q": "quality"}).alias("name"))["name"].to_list()
    assert names == [item_name("quality", 0), "quality.item_2", None]


def test_the_samples_whose_judges_disagree_are_found_once(tmp_path, monkeypatch):
    make_two_judge_run(tmp_path / "run")
    calls: Counter[str] = Counter()
    found = review_run.disagreeing_samples
    monkeypatch.setattr(
        review_run, "disagreeing_samples", counting(calls, "disagreeing_samples", found)
    )
    client = client_for(open_review(str(tmp_path / "run"), author="ana"))
    for path in ("/samples?disagree=1", "/samples?disagree=1&sort=id", "/samples?disagree=1"):
        shown = re.findall(r'class="sample-link" href="/samples/([^"]+)"', client.get(path).text)
        assert sorted(shown) == sorted(RIVAL_ANSWERS)
    assert calls == {"disagreeing_samples": 1}
