"""A judge actor killed mid-job: Ray restarts it, retries its batches, and no row is lost."""

import os
import signal
import threading
import time

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_openai_server import FakeOpenAIServer, Reply, fake_judge_job

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

pytestmark = pytest.mark.ray
ROWS = 60


def judge_actor_pids() -> list[int]:
    """This session's judge actors, by the process title Ray gives them."""
    import psutil

    return [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if any("MapWorker(MapBatches(ScoringStage))" in part for part in p.info["cmdline"] or [])
    ]


def test_a_killed_judge_actor_loses_no_row(tmp_path, ray_cluster):
    data = tmp_path / "in.parquet"
    ids = [f"r{n:03d}" for n in range(ROWS)]
    pq.write_table(pa.table({"id": ids, "response": [f"answer {n}" for n in range(ROWS)]}), data)
    with FakeOpenAIServer() as server:
        server.on(Reply(sleep_s=0.05))
        spec = parse_spec(
            fake_judge_job(
                str(data), str(tmp_path / "run"), server.url, batch_size=5, max_concurrency=1
            )
        )
        outcome: dict[str, object] = {}
        job = threading.Thread(target=lambda: outcome.update(result=run_job(spec)))
        job.start()
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and job.is_alive():
            scored = len(server.bodies("/v1/completions"))
            pids = judge_actor_pids()
            if pids and 10 <= scored < ROWS - 10:
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
            time.sleep(0.05)
        job.join(timeout=300)
    assert killed is not None, "the judge actor was never seen mid-job"
    result = outcome["result"]
    scores = pl.read_parquet(f"{result.run_dir}/scores/*.parquet")
    assert sorted(scores["id"]) == ids  # every row exactly once
    assert scores["error"].is_null().all()
    assert result.manifest["rows"] == {"in": ROWS, "out": ROWS, "errored": 0}
