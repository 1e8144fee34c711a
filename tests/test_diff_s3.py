"""Runs on object storage (moto's S3 server on 127.0.0.1, from test_s3_storage): open_runs
globs them there and `rayscore diff` reads two of them with --storage-options."""

from __future__ import annotations

import json

from finished_runs import item, write_finished_run
from test_s3_storage import BUCKET, options, s3, s3_endpoint  # noqa: F401 (a fixture)

from jobs.cli import main
from pipeline.results import open_runs

QUESTION = "Is it good?"


def test_open_runs_and_diff_read_runs_on_s3(s3_endpoint, tmp_path, capsys):  # noqa: F811
    for day, answer in ((1, "no"), (2, "yes")):
        local = write_finished_run(
            tmp_path / f"night-{day}",
            {f"r{n}": [item(0, QUESTION, answer, 0.5)] for n in range(8)},
            run_id=f"night-{day}",
            started_at=f"2026-12-0{day}T02:00:00+00:00",
        )
        s3(s3_endpoint).put(local, f"{BUCKET}/nights/night-{day}", recursive=True)
    nights = open_runs(f"s3://{BUCKET}/nights/night-*", options(s3_endpoint))
    assert [r.uri for r in nights.runs] == [
        f"s3://{BUCKET}/nights/night-1",
        f"s3://{BUCKET}/nights/night-2",
    ]
    assert nights.items.collect().group_by("run_id").len().height == 2
    a, b = (r.uri for r in nights.runs)
    opts = json.dumps(options(s3_endpoint))
    assert main(["diff", a, b, "--storage-options", opts, "--fail-on-regression", "0.1"]) == 0
    assert main(["diff", b, a, "--storage-options", opts, "--fail-on-regression", "0.1"]) == 1
    assert "regression: 2 score(s)" in capsys.readouterr().out  # the item and the primary score
