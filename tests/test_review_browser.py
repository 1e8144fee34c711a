"""`rayscore review` in a real headless browser (Debian's chromium, driven by Playwright) on a
small demo run judged by the real engine (the small local model) on real Ray: filter the
samples, open one, label three items with the keyboard and one from the queue; the labels are
ANNOTATION records on disk; fifty labels from the queue and the command the queue page prints
make a recalibrated run."""

from __future__ import annotations

import html
import json
import re
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from conftest import ENGINE_KWARGS, NO_LABEL_FLOOR
from fastapi.testclient import TestClient

from jobs.cli import main
from jobs.report_data import collect_report
from jobs.review.access import cookie_name
from jobs.review.app import create_app
from jobs.review.review_run import open_review
from jobs.review.server import ReviewServer
from pipeline.annotations.labels import AnnotationsSpec, read_annotations
from pipeline.annotations.names import check_annotation_names
from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec
from pipeline.storage.run_dir import ANNOTATIONS, LABEL_PARTS


def saved_parts(run_dir: Path) -> list[Path]:
    return list((run_dir / ANNOTATIONS).glob(LABEL_PARTS))


ROWS = 20  # 60 items: room for fifty labels
FIFTY = 50
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def demo_spec(data: Path, out: Path, model: Path) -> dict[str, Any]:
    return {
        "name": "review-demo",
        "input": {"path": str(data), "id_column": "id", "passthrough_columns": ["model"]},
        "output": {"path": str(out)},
        "judge": {"model": str(model), "engine_kwargs": ENGINE_KWARGS, **NO_LABEL_FLOOR},
        "definition": {
            "scorers": [
                {
                    "type": "checklist",
                    "key": "quality",
                    "input_column": "prompt",
                    "target_column": "response",
                    "checklist": [
                        {"question": "Does the response answer the question?", "weight": 100},
                        {"question": "Is the response free of factual errors?", "weight": 60},
                        {"question": "Is the response under ten words long?", "weight": 20},
                    ],
                }
            ]
        },
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, ray_cluster, tiny_model, demo_parquet) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("review")
    data = tmp / "rows.parquet"
    pl.read_parquet(demo_parquet).filter(pl.col("response").is_not_null()).head(ROWS).write_parquet(
        data
    )
    spec = demo_spec(data, tmp / "run", tiny_model)
    run_job(parse_spec(spec))
    return spec


@pytest.fixture()
def server(demo_run) -> Iterator[ReviewServer]:
    serving = ReviewServer(open_review(demo_run["output"]["path"], author="tester"))
    serving.start()
    try:
        yield serving
    finally:
        serving.stop()


@pytest.mark.ray
@pytest.mark.engine
def test_filter_open_a_sample_and_label_with_the_keyboard(demo_run, server, tmp_path):
    from playwright.sync_api import sync_playwright

    run_dir = Path(demo_run["output"]["path"])
    scores = pl.read_parquet(run_dir / "scores" / "*.parquet")
    model = scores["model"][0]
    expected = scores.filter(pl.col("model") == model)["id"].cast(pl.String).to_list()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            stranger = browser.new_page()
            refused = stranger.goto(f"{server.base_url}/samples")
            assert refused is not None and refused.status == 403

            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(server.url)
            assert page.inner_text("#total") == str(ROWS)

            page.select_option("select[name=group]", "model")
            page.fill("input[name=group_value]", model)
            page.click("button[type=submit]")
            page.wait_for_url("**group_value=*")
            assert page.inner_text("#total") == str(len(expected))
            assert page.locator("a.sample-link").all_inner_texts() == expected

            page.locator("a.sample-link").first.click()
            page.wait_for_selector("#sample-id")
            sample_id = page.inner_text("#sample-id")
            assert sample_id == expected[0]
            for key in ("y", "n", "y"):
                page.keyboard.press(key)
            page.wait_for_function(
                "document.querySelectorAll('tr.label-yes, tr.label-no').length === 3"
            )
            assert page.locator("tr.item.current").count() == 0  # moved past the last item
            second = page.locator("tr.item").nth(1)  # a change of mind: the last click counts
            second.locator("button[data-value=yes]").click()
            second.locator("button[data-value=no]").click()  # before the first is saved
            deadline = time.monotonic() + TIMEOUT_MS / 1000
            while len(saved_parts(run_dir)) < 5 and time.monotonic() < deadline:
                page.wait_for_timeout(50)

            page.goto(f"{server.base_url}/queue")
            queued = page.locator("tr.item").first
            queued_sample, queued_name = (
                queued.get_attribute("data-sample"),
                queued.get_attribute("data-name"),
            )
            with page.expect_navigation():
                page.keyboard.press("n")
            assert errors == []
        finally:
            browser.close()

    assert len(saved_parts(run_dir)) == 6  # one part per save
    labels = read_annotations(AnnotationsSpec(path=str(run_dir / "annotations")), "id", [], None)
    given = {(r["sample_id"], r["name"]): r["human"] for r in labels.to_dicts()}
    assert given == {
        (sample_id, "quality.item_0"): "true",
        (sample_id, "quality.item_1"): "false",
        (sample_id, "quality.item_2"): "true",
        (queued_sample, queued_name): "false",
    }
    assert set(labels["author"]) == {"tester"}
    records = pl.read_parquet(saved_parts(run_dir))
    assert set(records["source"]) == {"ANNOTATION"} and set(records["data_type"]) == {"BOOLEAN"}
    # labels given quickly are saved one after another, in the order given
    assert records.sort("created_at")["value"].to_list() == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    # the next run's spec names them, and their names are the run's scores
    next_spec = {**demo_run, "annotations": {"path": str(run_dir / "annotations")}}
    check_annotation_names(parse_spec(next_spec))


@pytest.mark.ray
@pytest.mark.engine
def test_fifty_labels_from_the_queue_then_the_printed_command_recalibrates(demo_run, tmp_path):
    """A reviewer labels fifty items the queue offers, then runs the command the queue page
    prints: the next run calibrates on every label, counts them, and judges nothing again;
    `rayscore report` of the labelled run counts them too. No code, no spec edit."""
    run_dir = Path(demo_run["output"]["path"])
    review = open_review(str(run_dir), author="bulk")
    client = TestClient(create_app(review, "t"))
    client.cookies.set(cookie_name(None), "t")
    median = review.results.items.select(pl.col("confidence").median()).collect().item()
    for _ in range(FIFTY):
        page = client.get("/queue").text
        entry = re.search(r'data-sample="([^"]+)" data-name="([^"]+)"', page)
        confidence = re.search(r'<td class="num">([0-9.]+)</td>', page)
        assert entry is not None and confidence is not None, "the queue ran dry"
        label = {"name": entry[2], "value": float(confidence[1]) > median}
        saved = client.post("/labels", json={"sample_id": entry[1], "labels": [label]})
        assert saved.status_code == 200, saved.text
    labels = review.store.current()
    assert labels.filter(pl.col("author") == "bulk").height == FIFTY
    items_labelled = labels.filter(pl.col("name").str.contains(r"\.item_\d+$")).height

    report = collect_report(str(run_dir))
    assert report.agreement is not None
    assert report.agreement.filter(pl.col("level") == "scorer")["n"].item() == items_labelled

    command = re.search(r'id="next-run-command">([^<]+)<', client.get("/queue").text)
    assert command is not None
    words = shlex.split(html.unescape(command[1]))
    spec_file = tmp_path / "spec.yaml"  # the user's spec: the run above was started without one
    calibrated = {**demo_run, "calibration": {"method": "isotonic", "holdout": 0.3}}
    spec_file.write_text(yaml.safe_dump(calibrated))
    assert words[:3] == ["rayscore", "run", "SPEC.yaml"]
    assert main([*words[1:2], str(spec_file), *words[3:]]) == 0

    out = Path(f"{run_dir}-relabelled")
    records = pl.read_parquet(out / "scores_long" / "*.parquet")
    annotations = records.filter(pl.col("source") == "ANNOTATION")
    assert annotations.height == labels.height
    assert set(annotations["author"]) == set(labels["author"])
    calibration = json.loads((out / "calibration.json").read_text())
    assert "quality" in calibration["calibrators"]
    agreement = json.loads((out / "agreement.json").read_text())
    assert agreement["overall"]["n"] == items_labelled
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["judge"]["requests_sent"] == 0  # every judgment reused from the run
    scores = pl.read_parquet(out / "scores" / "*.parquet")
    calibrated_items = scores.select(pl.col("quality").struct.field("item_scores")).explode(
        "item_scores"
    )
    assert calibrated_items.unnest("item_scores")["calibrated_confidence"].is_not_null().all()
