"""Input and output in object storage: a whole job reads s3:// and writes its run directory
to s3:// on a real local S3 server (moto's, on 127.0.0.1), resumes there, replaces a run
there with --overwrite, and never writes the storage credentials anywhere."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import NO_LABEL_FLOOR

from bench.ports import free_port
from pipeline.fingerprint import run_fingerprint
from pipeline.plan import plan_of
from pipeline.results import open_run
from pipeline.runner import run_job
from pipeline.source import resolve_input
from pipeline.spec_loader import parse_spec
from pipeline.storage.run_dir import MANIFEST, RunDirectory
from pipeline.storage.storage_options import polars_storage_options, redact_secrets

BUCKET = "rayscore-test"
KEY_ID = "moto-key-id-7f3a"
SECRET = "moto-secret-9c41e"  # searched for in every object the run writes
ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "block_size": 32}
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a free port, in its own process group, with one bucket."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(endpoint, timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start (see {log.name})") from None
                time.sleep(0.2)
        fsspec.filesystem("s3", **options(endpoint)).mkdir(BUCKET)
        yield endpoint
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def options(endpoint: str) -> dict[str, Any]:
    """s3fs's options with the credentials in them, so the Ray workers (started once per
    session, with the environment of that moment) get them whatever ran first."""
    return {"endpoint_url": endpoint, "key": KEY_ID, "secret": SECRET}


def s3(endpoint: str) -> Any:
    return fsspec.filesystem("s3", **options(endpoint), use_listings_cache=False)


def upload(endpoint: str, table: pa.Table, key: str) -> None:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    s3(endpoint).pipe(f"{BUCKET}/{key}", buffer.getvalue())


def quality_job(endpoint: str, model: Path, out: str) -> dict[str, Any]:
    return {
        "name": "s3",
        "input": {
            "path": f"s3://{BUCKET}/in/",
            "id_column": "id",
            "passthrough_columns": ["model"],
            "storage_options": options(endpoint),
        },
        "output": {
            "path": f"s3://{BUCKET}/{out}",
            "shard_mib": 0.004,  # several shards: listing them after the workers wrote them
            "storage_options": options(endpoint),
        },
        "judge": {"model": str(model), "engine_kwargs": ENGINE, "batch_size": 16, **NO_LABEL_FLOOR},
        "annotations": {"path": f"s3://{BUCKET}/labels/labels.parquet"},
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
                    ],
                    "metrics": [{"type": "mean", "field": "primary_score", "name": "Mean"}],
                }
            ]
        },
    }


@pytest.fixture(scope="module")
def s3_run(
    s3_endpoint: str,
    ray_cluster: None,
    tiny_model: Path,
    demo_parquet: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """The demo input split over two objects under s3://.../in/ and its labels in s3; a job
    whose first attempt breaks after the judge stage, then the same job again (a resume),
    both from an empty working directory."""
    source = pq.read_table(demo_parquet)
    upload(s3_endpoint, source.slice(0, 20), "in/part-0.parquet")
    upload(s3_endpoint, source.slice(20), "in/part-1.parquet")
    labels = pl.from_arrow(source.select(["id", "human_item_0"]))
    assert isinstance(labels, pl.DataFrame)
    labels = labels.drop_nulls().select(
        "id", pl.lit("quality.item_0").alias("name"), pl.col("human_item_0").alias("value")
    )
    upload(s3_endpoint, labels.to_arrow(), "labels/labels.parquet")
    raw = quality_job(s3_endpoint, tiny_model, "runs/x")
    workdir = tmp_path_factory.mktemp("cwd")

    import pipeline.runner

    def broken(*args: object) -> None:
        raise RuntimeError("the first attempt broke after the score pass")

    began = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(workdir)
        patch.setattr(pipeline.runner, "summary_stage", broken)
        with pytest.raises(RuntimeError, match="first attempt broke"):
            run_job(parse_spec(raw))
        fs = s3(s3_endpoint)
        unfinished = {
            "manifest": fs.exists(f"{BUCKET}/runs/x/manifest.json"),
            "fingerprint": fs.exists(f"{BUCKET}/runs/x/.rayscore/fingerprint.json"),
            "parts": len(fs.glob(f"{BUCKET}/runs/x/.rayscore/scored/scores/part-*.parquet")),
        }
        patch.undo()
        patch.chdir(workdir)
        result = run_job(parse_spec(raw))
    return {
        "result": result,
        "unfinished": unfinished,
        "workdir": workdir,
        "ids": sorted(source["id"].to_pylist()),
        "seconds": time.monotonic() - began,
    }


@pytest.mark.ray
@pytest.mark.engine
def test_a_job_reads_and_writes_s3_and_resumes_there(s3_run, s3_endpoint):
    assert s3_run["unfinished"]["manifest"] is False
    assert s3_run["unfinished"]["fingerprint"] is True
    assert s3_run["unfinished"]["parts"] >= 2
    manifest = s3_run["result"].manifest
    assert manifest["resume"]["resumed"] is True
    assert manifest["resume"]["rows_reused"] == 40
    assert 2 <= manifest["resume"]["shards_reused"] <= s3_run["unfinished"]["parts"]
    assert manifest["judge"]["requests_this_attempt"] == 0
    assert manifest["rows"]["in"] == manifest["rows"]["out"] == 40
    fs = s3(s3_endpoint)
    names = {p.rsplit("/", 1)[-1] for p in fs.ls(f"{BUCKET}/runs/x")}
    assert {"scores", "scores_long", "manifest.json", "metrics.json", "agreement.json"} <= names
    assert ".rayscore" not in names  # the parts are all in scores/ now
    assert list(s3_run["workdir"].iterdir()) == []  # nothing was written locally


@pytest.mark.ray
@pytest.mark.engine
def test_polars_reads_the_scores_with_the_translated_options(s3_run, s3_endpoint, monkeypatch):
    for name in AWS_ENV:  # the credentials are in the options only
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    uri = f"s3://{BUCKET}/runs/x/scores/*.parquet"
    polars_options = polars_storage_options(uri, options(s3_endpoint))
    assert polars_options == {
        "aws_endpoint_url": s3_endpoint,
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
        "aws_allow_http": "true",
    }
    ids = pl.scan_parquet(uri, storage_options=polars_options).select("id").collect()["id"]
    assert sorted(ids.to_list()) == s3_run["ids"]  # every id exactly once


@pytest.mark.ray
@pytest.mark.engine
def test_with_credentials_from_the_environment_one_dict_serves_fsspec_and_polars(
    s3_run, s3_endpoint, monkeypatch
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    same = {"endpoint_url": s3_endpoint}
    frame = pl.scan_parquet(f"s3://{BUCKET}/runs/x/scores/*.parquet", storage_options=same)
    assert sorted(frame.collect()["id"].to_list()) == s3_run["ids"]
    assert open_run(f"s3://{BUCKET}/runs/x", same).samples.collect().height == 40


@pytest.mark.ray
@pytest.mark.engine
def test_open_run_reads_samples_items_metrics_and_agreement_from_s3(s3_run, s3_endpoint):
    run = open_run(f"s3://{BUCKET}/runs/x", storage_options=options(s3_endpoint))
    samples = run.samples.collect()
    assert sorted(samples["id"].to_list()) == s3_run["ids"]
    items = run.items.collect()
    assert items.height == 2 * (40 - 2)  # two questions; the 2 null responses have no items
    assert set(items["index"].to_list()) == {0, 1}
    metrics = run.metrics.collect()
    assert metrics.filter(pl.col("metric") == "Mean")["count"].to_list() == [38]
    assert run.agreement is not None
    assert "quality.item_0" in run.agreement.collect()["name"].to_list()
    records = run.scores_long.filter(pl.col("source") == "ANNOTATION").collect()
    assert records.height > 0 and set(records["name"].to_list()) == {"quality.item_0"}


@pytest.mark.ray
@pytest.mark.engine
def test_no_object_the_run_wrote_holds_the_secret(s3_run, s3_endpoint):
    fs = s3(s3_endpoint)
    written = fs.find(f"{BUCKET}/runs/x")
    assert written
    for path in written:
        content = fs.cat_file(path)
        assert SECRET.encode() not in content, path
        assert KEY_ID.encode() not in content, path
    manifest = json.loads(fs.cat_file(f"{BUCKET}/runs/x/manifest.json"))
    for section in ("input", "output"):
        stored = manifest["spec"][section]["storage_options"]
        assert stored == {"endpoint_url": s3_endpoint, "key": "***", "secret": "***"}
    assert SECRET not in json.dumps(s3_run["result"].manifest)


@pytest.mark.ray
def test_overwrite_on_s3_keeps_the_old_run_until_the_new_one_is_complete(
    s3_endpoint, ray_cluster, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    upload(s3_endpoint, pa.table({"id": ["a", "b", "c"], "text": ["x", "x", "y"]}), "u/in.parquet")
    raw = {
        "name": "uniq",
        "input": {
            "path": f"s3://{BUCKET}/u/in.parquet",
            "id_column": "id",
            "storage_options": options(s3_endpoint),
        },
        "output": {"path": f"s3://{BUCKET}/u/run", "storage_options": options(s3_endpoint)},
        "definition": {"scorers": [{"type": "uniqueness", "key": "u", "column": "text"}]},
    }
    fs = s3(s3_endpoint)
    first = run_job(parse_spec(raw))
    manifest = fs.cat_file(f"{BUCKET}/u/run/manifest.json")

    import pipeline.runner

    def broken(*args: object) -> None:
        raise RuntimeError("the new run broke half-way")

    with monkeypatch.context() as patch:  # breaks after the score pass wrote its parts
        patch.setattr(pipeline.runner, "summary_stage", broken)
        with pytest.raises(RuntimeError, match="half-way"):
            run_job(parse_spec(raw), overwrite=True)
    assert fs.cat_file(f"{BUCKET}/u/run/manifest.json") == manifest  # the old run, whole
    assert fs.exists(f"{BUCKET}/u/run.new/.rayscore/fingerprint.json")

    second = run_job(parse_spec(raw), overwrite=True)  # resumes the replacement, swaps it in
    assert second.manifest["resume"]["resumed"] is True
    assert second.manifest["run_id"] != first.manifest["run_id"]
    assert (
        json.loads(fs.cat_file(f"{BUCKET}/u/run/manifest.json"))["run_id"]
        == (second.manifest["run_id"])
    )
    scores = pl.scan_parquet(
        f"s3://{BUCKET}/u/run/scores/*.parquet",
        storage_options=polars_storage_options("s3://", options(s3_endpoint)),
    ).collect()
    assert sorted(scores["id"].to_list()) == ["a", "b", "c"]
    assert fs.exists(f"{BUCKET}/u/run/scores_long")
    assert not fs.exists(f"{BUCKET}/u/run.new") and not fs.exists(f"{BUCKET}/u/run.replaced")
    assert list(tmp_path.iterdir()) == []


def test_a_run_moved_on_an_object_store_gets_its_manifest_last_and_loses_it_first(monkeypatch):
    """An object store moves a folder object by object: a cut-off move must not leave a
    folder that looks finished (manifest.json) without all its files."""
    bucket = f"memory://move-{uuid.uuid4().hex[:8]}"
    target, new = RunDirectory(f"{bucket}/run"), RunDirectory(f"{bucket}/run.new")
    assert not new.renames_atomically
    for run_dir, tag in ((target, "old"), (new, "new")):
        for part in range(2):
            run_dir.fs.pipe(run_dir.join(f"scores/part-{part}.parquet"), tag.encode())
        run_dir.write_json(MANIFEST, {"run": tag})
    events: list[tuple[str, Any]] = []
    copy, rm = new.fs.copy, new.fs.rm

    def record_copy(path1: Any, path2: Any, **kwargs: Any) -> Any:
        events.append(("copy", path1))
        return copy(path1, path2, **kwargs)

    def record_rm(path: Any, **kwargs: Any) -> Any:
        events.append(("rm", path))
        return rm(path, **kwargs)

    monkeypatch.setattr(new.fs, "copy", record_copy)
    monkeypatch.setattr(new.fs, "rm", record_rm)
    new.replace(target)
    assert target.read_json(MANIFEST) == {"run": "new"}
    assert target.fs.cat_file(target.join("scores/part-1.parquet")) == b"new"
    assert not target.fs.exists(new.path)
    assert not target.fs.exists(f"{target.path}.replaced")
    moved_in = events[events.index(("copy", new.join(MANIFEST))) - 1 :][:4]
    assert moved_in == [
        ("copy", [new.join("scores/part-0.parquet"), new.join("scores/part-1.parquet")]),
        ("copy", new.join(MANIFEST)),  # last in
        ("rm", new.join(MANIFEST)),  # first out
        ("rm", new.path),
    ]
    target.fs.rm(bucket, recursive=True)


def test_secret_looking_storage_options_are_redacted_at_any_depth():
    given = {
        "endpoint_url": "http://127.0.0.1:9000",
        "Key": "id",
        "AWS_SECRET_ACCESS_KEY": "s",
        "client_kwargs": {"region_name": "us-east-1", "aws_session_token": "t"},
        "config_kwargs": {"retries": {"max_attempts": 3}, "proxies": [{"password": "p"}]},
        "sa_credentials": {"private": "x"},
        "use_ssl": False,
    }
    assert redact_secrets(given) == {
        "endpoint_url": "http://127.0.0.1:9000",
        "Key": "***",
        "AWS_SECRET_ACCESS_KEY": "***",
        "client_kwargs": {"region_name": "us-east-1", "aws_session_token": "***"},
        "config_kwargs": {"retries": {"max_attempts": 3}, "proxies": [{"password": "***"}]},
        "sa_credentials": "***",
        "use_ssl": False,
    }


def test_the_manifest_spec_and_fingerprint_hold_no_credentials(tmp_path):
    data = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["x", "y"]}), data)

    def spec(secret: str) -> Any:
        with_secret = {"token": secret, "nested": {"password": secret, "depth": 1}}
        return parse_spec(
            {
                "name": "local",
                "input": {"path": str(data), "id_column": "id", "storage_options": with_secret},
                "output": {"path": str(tmp_path / "run"), "storage_options": with_secret},
                "definition": {"scorers": [{"type": "uniqueness", "column": "text"}]},
            }
        )

    first, second = spec("first-secret"), spec("second-secret")
    dumped = first.dump_without_secrets()
    assert dumped["input"]["storage_options"] == {
        "token": "***",
        "nested": {"password": "***", "depth": 1},
    }
    assert "first-secret" not in json.dumps(dumped)
    assert first.input.storage_options["token"] == "first-secret"  # the spec keeps them
    print_a = run_fingerprint(plan_of(first), resolve_input(first))
    print_b = run_fingerprint(plan_of(second), resolve_input(second))
    assert print_a == print_b
    assert "first-secret" not in json.dumps(print_a)


def test_polars_options_translate_s3fs_names_and_leave_local_paths_alone():
    given = {
        "client_kwargs": {"endpoint_url": "https://minio:9000", "region_name": "eu-west-1"},
        "token": "t",
        "default_block_size": 1 << 20,  # fsspec's own tuning: not Polars'
        "aws_request_payer": True,
    }
    assert polars_storage_options("s3://b/run", given) == {
        "aws_endpoint_url": "https://minio:9000",
        "aws_region": "eu-west-1",
        "aws_session_token": "t",
        "aws_request_payer": "true",
    }
    assert polars_storage_options("/local/run", given) is None
    assert polars_storage_options("s3://b/run", {}) is None
