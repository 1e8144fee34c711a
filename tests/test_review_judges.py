"""`rayscore review` on a run with several judges: the samples page filters the samples whose
judges answered a question differently, and the label queue offers their items (hand-made
runs, no judge)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from review_runs import RIVAL_ANSWERS, make_run, make_two_judge_run

from jobs.review.access import cookie_name
from jobs.review.app import create_app
from jobs.review.judge_disagreement import disagreeing_items, judges_of
from jobs.review.label_queue import DISAGREE, LabelQueue, label_queue
from jobs.review.review_run import open_review

TOKEN = "secret-token"


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    make_two_judge_run(tmp_path / "run")
    return tmp_path / "run"


def client_for(run_dir: Path, author: str = "ana") -> TestClient:
    client = TestClient(create_app(open_review(str(run_dir), author=author), TOKEN))
    client.cookies.set(cookie_name(None), TOKEN)
    return client


def test_each_scorer_is_answered_by_the_judge_its_spec_names(run_dir):
    assert judges_of(open_review(str(run_dir))) == {"small_says": "small", "large_says": "large"}


def test_items_are_matched_across_judges_by_question_not_index(run_dir):
    found = disagreeing_items(open_review(str(run_dir))).collect()
    assert set(found["id"]) == set(RIVAL_ANSWERS)
    assert found.height == 2 * len(RIVAL_ANSWERS)  # both judges' item of each question
    d2 = found.filter(pl.col("id") == "d2")
    assert set(d2["question"]) == {"Is it concise?"} and d2["spread"].to_list() == [0.8, 0.8]


def test_the_samples_page_filters_the_samples_whose_judges_disagree(run_dir):
    client = client_for(run_dir)
    page = client.get("/samples").text
    assert 'name="disagree"' in page
    assert len(re.findall(r'class="sample-link"', page)) == 10
    shown = re.findall(
        r'class="sample-link" href="/samples/([^"]+)"', client.get("/samples?disagree=1").text
    )
    assert sorted(shown) == sorted(RIVAL_ANSWERS)


def test_with_one_judge_the_filter_is_absent_and_asking_for_it_is_a_bad_query(tmp_path):
    make_run(tmp_path / "one")
    client = client_for(tmp_path / "one")
    assert 'name="disagree"' not in client.get("/samples").text
    refused = client.get("/samples?disagree=1")
    assert refused.status_code == 400 and "disagree" in refused.text


def test_the_queue_offers_disagreeing_items_widest_spread_first(run_dir):
    entries = label_queue(open_review(str(run_dir), author="ana"), size=8)
    disagreeing = [e for e in entries if e.why == DISAGREE]
    assert len(disagreeing) == 2  # a quarter of the queue
    assert {e.sample_id for e in disagreeing} == {"d2"}  # spread 0.8, before d5's 0.6
    assert {e.name for e in disagreeing} == {"small_says.item_1", "large_says.item_0"}


def test_a_labelled_disagreement_leaves_the_queue(run_dir):
    run = open_review(str(run_dir), author="ana")
    queue = LabelQueue(run, size=8)
    first = [e for e in queue.entries() if e.why == DISAGREE]
    client_for(run_dir).post(
        "/labels",
        json={"sample_id": "d2", "labels": [{"name": e.name, "value": False} for e in first]},
    )
    after = [(e.sample_id, e.name) for e in queue.entries()]
    assert not {("d2", e.name) for e in first} & set(after)
    disagreeing = {e.sample_id for e in queue.entries() if e.why == DISAGREE}
    assert len(disagreeing) >= 1 and disagreeing <= {"d5", "d7"}  # the next widest spreads
