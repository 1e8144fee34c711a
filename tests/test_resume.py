"""Overnight runs: a killed driver resumes exactly once, a changed job is refused, --overwrite
keeps the old run until the new one has finished, and a judge that keeps failing stops the
job with the committed shards kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import NO_LABEL_FLOOR
from fake_openai_server import FakeOpenAIServer, Reply, fake_judge_job

from bench.rayscore_job import start_run
from pipeline.attempt import FingerprintChanged, check_job
from pipeline.runner import run_job
from pipeline.spec_loader import load_spec, parse_spec
from pipeline.storage.run_dir import RunDirectoryExists

ROOT = Path(__file__).resolve().parents[1]
ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True}


def write_job(tmp_path: Path, model: Path, data: Path, out: str, question: str) -> Path:
    spec = {
        "name": "resume",
        "input": {"path": str(data), "id_column": "id"},
        # two rows a shard, so an actor call and a part: many parts, written one by one
        "output": {"path": str(tmp_path / out), "shard_mib": 0.0002},
        "judge": {"model": str(model), "engine_kwargs": ENGINE, "batch_size": 4, **NO_LABEL_FLOOR},
        "definition": {
            "scorers": [
                {
                    "type": "checklist",
                    "key": "q",
                    "input_column": "prompt",
                    "target_column": "response",
                    "checklist": [{"question": question}, {"question": "Is it polite?"}],
                }
            ]
        },
    }
    path = tmp_path / f"{out}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run_killed_after_first_part(spec: Path, parts: Path) -> None:
    """`rayscore run SPEC` as a driver in a session of its own, killed (with the local Ray
    cluster it started) once a part is in `parts`, or after 240 s."""
    driver = start_run(spec)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and driver.poll() is None:
            if list(parts.glob("part-*.parquet")):
                break
            time.sleep(0.05)
    finally:
        stop_session(driver.pid)
        driver.wait()


def stop_session(pid: int) -> None:
    """Kill the process group `pid` leads and whatever it started in its session (the local
    Ray cluster a driver starts lives there too)."""
    import psutil

    os.killpg(pid, signal.SIGKILL)
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == pid:
                proc.kill()
        except (ProcessLookupError, psutil.Error, PermissionError):
            continue


def item_confidences(run: Path) -> pl.DataFrame:
    scores = pl.read_parquet(run / "scores" / "*.parquet")
    return (
        scores.select("id", pl.col("q").struct.field("item_scores"))
        .explode("item_scores")
        .unnest("item_scores")
        .select("id", "index", "confidence")
        .sort("id", "index")
    )


@pytest.mark.ray
@pytest.mark.engine
def test_a_killed_driver_resumes_exactly_once(tmp_path, ray_cluster, tiny_model, demo_parquet):
    question = "Does the response answer the question?"
    reference = run_job(load_spec(write_job(tmp_path, tiny_model, demo_parquet, "ref", question)))

    spec = write_job(tmp_path, tiny_model, demo_parquet, "run", question)
    parts = tmp_path / "run" / ".rayscore" / "scored" / "scores"
    run_killed_after_first_part(spec, parts)
    committed = len(list(parts.glob("part-*.parquet")))
    assert committed >= 1, "no part was written before the driver was killed"
    assert not (tmp_path / "run" / "manifest.json").exists()

    resumed = run_job(load_spec(spec))

    assert resumed.manifest["resume"]["resumed"] is True
    assert 0 < resumed.manifest["resume"]["rows_reused"] < 40
    all_requests = resumed.manifest["judge"]["requests"]
    assert all_requests == reference.manifest["judge"]["requests"]
    assert resumed.manifest["judge"]["requests_this_attempt"] < all_requests
    got, want = item_confidences(tmp_path / "run"), item_confidences(tmp_path / "ref")
    assert got["id"].to_list() == want["id"].to_list()  # every row exactly once
    assert (
        got.join(want, on=["id", "index"])
        .select(
            ((pl.col("confidence") - pl.col("confidence_right")).abs() < 1e-5)
            | pl.col("confidence").is_null()
        )
        .to_series()
        .all()
    )
    assert not (tmp_path / "run" / ".rayscore").exists()


def test_resuming_a_changed_job_is_refused_and_restart_starts_over(tmp_path, demo_parquet):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    first = load_spec(write_job(tmp_path, model, demo_parquet, "run", "Is it right?"))
    check_job(first, None).release()  # starts the run: its fingerprint is stored
    (tmp_path / "run" / ".rayscore" / "judged").mkdir(parents=True)
    (tmp_path / "run" / ".rayscore" / "judged" / "shard-x.parquet").write_text("")

    changed = load_spec(write_job(tmp_path, model, demo_parquet, "run", "Is it wrong?"))
    with pytest.raises(FingerprintChanged) as refused:
        check_job(changed, None)
    assert "scorers.q.checklist" in str(refused.value) and "--restart" in str(refused.value)
    resumed = check_job(first, None)
    resumed.release()
    assert resumed.resumed  # the same job resumes

    restarted = check_job(changed, None, restart=True)
    restarted.release()
    assert not restarted.resumed
    assert not (tmp_path / "run" / ".rayscore" / "judged").exists()


def test_a_one_pass_runs_parts_are_final_so_a_changed_name_or_metric_is_refused(
    tmp_path, demo_parquet
):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    path = write_job(tmp_path, model, demo_parquet, "run", "Is it right?")
    check_job(load_spec(path), None).release()
    raw = yaml.safe_load(path.read_text())
    raw["definition"]["scorers"][0]["display_name"] = "Quality"  # in every written record
    with pytest.raises(FingerprintChanged, match=r"finished_in_parts\.definition"):
        check_job(parse_spec(raw), None)
    raw = yaml.safe_load(path.read_text())
    raw["definition"]["scorers"][0]["metrics"] = [{"type": "mean", "field": "pass_rate"}]
    with pytest.raises(FingerprintChanged, match=r"finished_in_parts\.definition"):
        check_job(parse_spec(raw), None)  # its partials are in the parts' footers


def test_a_two_pass_run_may_change_what_its_second_pass_does(tmp_path, demo_parquet):
    data = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "response": ["1", "2.5"]}), data)
    raw = {
        "name": "typed-at-run-time",  # a python scorer's types are known after the pass
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(tmp_path / "run")},
        "definition": {
            "scorers": [
                {
                    "type": "python",
                    "key": "parsed",
                    "compute_score_snippet": "def compute_score(s):\n    return {'v': 1}\n",
                    "columns": ["response"],
                }
            ]
        },
    }
    check_job(parse_spec(raw), None).release()
    raw["definition"]["scorers"][0]["display_name"] = "Parsed"
    assert check_job(parse_spec(raw), None).resumed


@pytest.mark.ray
def test_overwrite_keeps_the_old_run_until_the_new_one_has_finished(
    tmp_path, ray_cluster, monkeypatch
):
    data = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "response": ["x", "x", "y"]}), data)
    raw = {
        "name": "uniq",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(tmp_path / "run")},
        "definition": {"scorers": [{"type": "uniqueness", "key": "u", "column": "response"}]},
    }
    first = run_job(parse_spec(raw))
    manifest = (tmp_path / "run" / "manifest.json").read_text()
    files = {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")}

    again = run_job(parse_spec(raw))  # the same command on its finished run: a no-op
    assert again.already_complete and again.manifest == first.manifest
    assert again.metrics == first.metrics
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*")} == files
    assert not (tmp_path / "run" / ".rayscore").exists()
    changed = {**raw, "name": "uniq-renamed"}
    with pytest.raises(RunDirectoryExists, match="--overwrite"):
        run_job(parse_spec(changed))  # another job's finished run is never touched

    import pipeline.runner

    def broken(*args: object) -> None:
        raise RuntimeError("the new run broke half-way")

    monkeypatch.setattr(pipeline.runner, "summary_stage", broken)
    with pytest.raises(RuntimeError, match="half-way"):
        run_job(parse_spec(raw), overwrite=True)
    assert (tmp_path / "run" / "manifest.json").read_text() == manifest  # the old run, whole
    assert pl.read_parquet(tmp_path / "run" / "scores" / "*.parquet").height == 3
    monkeypatch.undo()

    second = run_job(parse_spec(raw), overwrite=True)
    assert second.manifest["run_id"] != first.manifest["run_id"]
    assert (tmp_path / "run" / "manifest.json").read_text() != manifest
    assert not list(tmp_path.glob("run.replaced*"))


@pytest.mark.ray
def test_a_judge_that_keeps_failing_stops_the_job_which_then_resumes(tmp_path, ray_cluster):
    data = tmp_path / "in"
    data.mkdir()
    for part in range(10):
        rows = range(part * 4, part * 4 + 4)
        table = pa.table({"id": [f"r{n:02d}" for n in rows], "response": [f"a{n}" for n in rows]})
        pq.write_table(table, data / f"part-{part}.parquet")
    out = str(tmp_path / "run")
    with FakeOpenAIServer() as server:
        server.on(Reply(status=500))  # the endpoint is down
        raw = fake_judge_job(str(data), out, server.url, batch_size=4, max_retries=0)
        spec = tmp_path / "job.yaml"
        spec.write_text(yaml.safe_dump(raw))
        failed = subprocess.run(
            [sys.executable, "-m", "jobs.cli", "run", str(spec)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert failed.returncode == 1
        assert "rayscore: the judge failed every request of 3 batches in a row" in failed.stderr
        assert "Traceback" not in failed.stderr
        assert not (tmp_path / "run" / "manifest.json").exists()
        assert (tmp_path / "run" / ".rayscore" / "fingerprint.json").exists()

        server.replies.clear()  # the endpoint is back; the same command resumes the run
        result = run_job(load_spec(spec))
    scores = pl.read_parquet(tmp_path / "run" / "scores" / "*.parquet")
    assert sorted(scores["id"]) == [f"r{n:02d}" for n in range(40)]
    assert scores["error"].is_null().all()
    assert result.manifest["rows"]["errored"] == 0


def test_a_gpu_the_cluster_lacks_fails_within_a_minute_naming_the_key(tmp_path):
    data = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["a"], "response": ["x"]}), data)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    for judge, key in (
        ({"num_gpus": 1}, "judge.num_gpus"),
        ({"concurrency": 2}, "judge.concurrency"),
    ):
        spec = tmp_path / "job.yaml"
        spec.write_text(
            yaml.safe_dump(
                {
                    "name": "gpu",
                    "input": {"path": str(data), "id_column": "id"},
                    "output": {"path": str(tmp_path / "run")},
                    "judge": {"model": str(model), **judge},
                    "definition": {
                        "scorers": [
                            {
                                "type": "boolean",
                                "key": "b",
                                "question": "ok?",
                                "target_column": "response",
                            }
                        ]
                    },
                }
            )
        )
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "jobs.cli", "run", str(spec), "--restart"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert key in proc.stderr and "Traceback" not in proc.stderr
        assert time.monotonic() - started < 60


def test_cost_per_1000_judgments_from_the_price_per_actor_hour():
    from pipeline.manifest import judge_cost
    from scorers.judge.spec import JudgeSpec

    judges = {"judge": JudgeSpec(model="m/m", concurrency=2, price_per_hour=3.6)}
    cost = judge_cost(judges, judge_s=100.0, requests=4000)
    assert cost["judge_actor_s"] == 200.0
    assert cost["total"] == pytest.approx(0.2)  # 2 actors x 100 s x 3.6 per hour
    assert cost["per_1000_judgments"] == pytest.approx(0.05)
    unpriced = judge_cost({"judge": JudgeSpec(model="m/m")}, judge_s=10.0, requests=10)
    assert unpriced["total"] is None and unpriced["judge_actor_s"] == 10.0
