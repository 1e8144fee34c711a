"""`rayscore report` and `rayscore review` read a run on object storage (moto's local S3 server)
given --storage-options as JSON or as a file, the same flag and parser as `diff` takes."""

from __future__ import annotations

import json

import fsspec
import pytest
import test_s3_storage
from review_runs import N, make_run
from test_s3_storage import BUCKET, options

from jobs.cli import main
from jobs.review.review_run import open_review
from jobs.review.samples_query import SamplesQuery, samples_page

s3_endpoint = test_s3_storage.s3_endpoint  # moto's S3 server, a module fixture


@pytest.fixture(scope="module")
def s3_run(s3_endpoint, tmp_path_factory):
    """A finished run with a calibration.json, made locally and uploaded."""
    folder = tmp_path_factory.mktemp("run")
    make_run(folder)
    calibration = {"method": "isotonic", "holdout": 0.5, "calibrators": {}, "report": {}}
    (folder / "calibration.json").write_text(json.dumps(calibration))
    uri = f"s3://{BUCKET}/report-options"
    fsspec.filesystem("s3", **options(s3_endpoint)).put(str(folder), uri, recursive=True)
    return uri


def test_report_reads_a_run_on_s3_with_json_storage_options(s3_run, s3_endpoint, capsys):
    given = json.dumps(options(s3_endpoint))
    assert main(["report", s3_run, "--storage-options", given]) == 0
    out = capsys.readouterr().out
    assert f"run {s3_run}" in out
    assert "Is it polite?" in out  # the items' pass rates, from scores/ on S3
    assert "calibration (isotonic, holdout 0.5)" in out  # calibration.json, read from S3


def test_report_takes_the_options_from_a_file(s3_run, s3_endpoint, tmp_path, capsys):
    (tmp_path / "s3.json").write_text(json.dumps(options(s3_endpoint)))
    assert main(["report", s3_run, "--storage-options", str(tmp_path / "s3.json")]) == 0
    assert "Is it polite?" in capsys.readouterr().out


def test_review_lists_a_run_on_s3(s3_run, s3_endpoint):
    run = open_review(s3_run, author="ana", storage_options=options(s3_endpoint))
    assert samples_page(run, SamplesQuery()).total == N


def test_storage_options_neither_json_nor_a_file_are_named(s3_run, capsys):
    assert main(["report", s3_run, "--storage-options", "no-such-file.json"]) == 2
    assert "neither a JSON object nor a file" in capsys.readouterr().err
