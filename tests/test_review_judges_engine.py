"""`rayscore review`'s "judges disagree" on a run judged by the real engine on real Ray: two
checklist scorers ask the same questions of the same rows, each through its own named judge
(the small local model, one scorer with a prompt of its own so the two answer some items
differently). The samples page's filter and the label queue are read through the app and
checked against the disagreements found in scores/ with Polars."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import ENGINE_KWARGS, NO_LABEL_FLOOR
from fastapi.testclient import TestClient

from jobs.review.access import cookie_name
from jobs.review.app import create_app
from jobs.review.review_run import open_review
from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

ROWS = 16
TOKEN = "secret-token"
QUESTIONS = [
    "Does the response answer the question?",
    "Is the response free of factual errors?",
    "Is the response under ten words long?",
]
# the default item prompt puts the question last; this one asks it differently, in other words
OTHER_PROMPT = (
    "Response under review:\n{target}\n\nIt was written for this request:\n{input}\n\n"
    "Check: {question}\nVerdict, No or Yes:"
)
SCORERS = {"small_says": "small", "other_says": "other"}  # scorer key -> its judge


def two_judge_spec(data: Path, out: Path, model: Path) -> dict[str, Any]:
    # On 2 CPUs two engines must leave room for the read and write tasks.
    judge = {
        "model": str(model),
        "engine_kwargs": ENGINE_KWARGS,
        "batch_size": 16,
        "num_cpus": 0.5,
        **NO_LABEL_FLOOR,
    }
    scorers = [
        {
            "type": "checklist",
            "key": key,
            "judge": judge_name,
            "input_column": "prompt",
            "target_column": "response",
            "checklist": [{"question": q} for q in QUESTIONS],
        }
        | ({"custom_prompt": OTHER_PROMPT} if judge_name == "other" else {})
        for key, judge_name in SCORERS.items()
    ]
    return {
        "name": "review-two-judges",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(out)},
        "judges": {
            "small": judge,
            "other": {**judge, "engine_kwargs": {**ENGINE_KWARGS, "block_size": 32}},
        },
        "definition": {"scorers": scorers},
    }


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, ray_cluster, tiny_model, demo_parquet) -> Path:
    tmp = tmp_path_factory.mktemp("review-judges")
    data = tmp / "rows.parquet"
    rows = pl.read_parquet(demo_parquet).filter(pl.col("response").is_not_null()).head(ROWS)
    rows.write_parquet(data)
    run_job(parse_spec(two_judge_spec(data, tmp / "run", tiny_model)))
    return tmp / "run"


def answers(run_dir: Path) -> pl.DataFrame:
    """Each scored item of both scorers: id, question, then per scorer its answer and index."""
    scores = pl.read_parquet(run_dir / "scores" / "*.parquet")

    def items_of(key: str) -> pl.DataFrame:
        return (
            scores.select("id", pl.col(key).struct.field("item_scores").alias("item"))
            .explode("item")
            .unnest("item")
            .select(
                "id", "question", pl.col("answer").alias(key), pl.col("index").alias(key + "_index")
            )
            .drop_nulls(key)
        )

    small, other = SCORERS
    return items_of(small).join(items_of(other), on=["id", "question"], how="inner")


def sample_ids(html: str) -> list[str]:
    return re.findall(r'class="sample-link" href="/samples/([^"]+)"', html)


def queue_entries(client: TestClient) -> list[tuple[str, str, str]]:
    """(sample, item name, why) of every entry of the label queue, page by page."""
    entries = []
    for offset in range(200):
        page = client.get(f"/queue?offset={offset}").text
        if 'id="empty"' in page:
            return entries
        row = re.search(
            r'<tr class="item current" data-sample="([^"]+)" data-name="([^"]+)">', page
        )
        why = re.search(r'<td class="num">[^<]*</td>\s*<td>([^<]+)</td>', page)
        assert row is not None and why is not None, page
        entries.append((row[1], row[2], why[1]))
    raise AssertionError("the queue never ended")


@pytest.mark.ray
@pytest.mark.engine
def test_the_samples_where_the_judges_answer_a_question_differently_are_filtered_and_queued(
    run_dir,
):
    small, other = SCORERS
    both = answers(run_dir)
    assert both.height == ROWS * len(QUESTIONS)  # both judges answered every question of every row
    differing = both.filter(pl.col(small) != pl.col(other))
    expected = set(differing["id"])
    assert 0 < len(expected) < ROWS, "the two prompts should split the samples"

    client = TestClient(create_app(open_review(str(run_dir), author="ana"), TOKEN))
    client.cookies.set(cookie_name(None), TOKEN)
    assert 'name="disagree"' in client.get("/samples").text
    shown = sample_ids(client.get("/samples?disagree=1").text)
    assert len(shown) == len(set(shown)) and set(shown) == expected

    manifest = json.loads((run_dir / "manifest.json").read_text())
    names = {scorer["key"]: scorer["name"] for scorer in manifest["scorers"]}
    disagreeing_items = {
        (row["id"], f"{names[key]}.item_{row[key + '_index']}")
        for row in differing.iter_rows(named=True)
        for key in SCORERS
    }
    queued = [
        (sample, name) for sample, name, why in queue_entries(client) if why == "judges disagree"
    ]
    assert queued and set(queued) <= disagreeing_items
