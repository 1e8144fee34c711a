"""A run on object storage (moto's S3 server on 127.0.0.1, from test_s3_storage) reviewed as a
local one: its samples page opens with storage options, and labels saved there are parts the
annotations reader reads back from S3."""

from __future__ import annotations

from fastapi.testclient import TestClient
from finished_runs import item, write_finished_run
from test_s3_storage import BUCKET, options, s3, s3_endpoint  # noqa: F401 (a fixture)

from jobs.review.access import cookie_name
from jobs.review.app import create_app
from jobs.review.review_run import open_review
from pipeline.annotations.labels import AnnotationsSpec, read_annotations


def test_a_run_on_s3_is_reviewed_and_labelled_there(s3_endpoint, tmp_path):  # noqa: F811
    local = write_finished_run(
        tmp_path / "night", {f"r{n}": [item(0, "Is it good?", "yes", 0.8)] for n in range(6)}
    )
    uri = f"s3://{BUCKET}/review/night"
    s3(s3_endpoint).put(local, uri.removeprefix("s3://"), recursive=True)
    run = open_review(uri, author="ana", storage_options=options(s3_endpoint))
    client = TestClient(create_app(run, "t"))
    client.cookies.set(cookie_name(None), "t")
    assert '<span id="total">6</span>' in client.get("/samples").text
    for value in (True, False):  # a relabel: both kept, the latest counts
        saved = client.post(
            "/labels",
            json={"sample_id": "r2", "labels": [{"name": "quality.item_0", "value": value}]},
        )
        assert saved.status_code == 200, saved.text
    parts = s3(s3_endpoint).ls(f"{BUCKET}/review/night/annotations")
    assert len(parts) == 2 and all("/label-" in p for p in parts)
    labels = read_annotations(
        AnnotationsSpec(path=f"{uri}/annotations"), "id", [], None, options(s3_endpoint)
    )
    assert labels.select("sample_id", "name", "human", "author").rows() == [
        ("r2", "quality.item_0", "false", "ana")
    ]
    assert run.store.history()["string_value"].to_list() == ["true", "false"]
