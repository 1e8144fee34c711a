"""Run by tests/test_node_failure.py in its own process: a head and a worker node on this
machine (ray.cluster_utils.Cluster), a job whose judge is the fake server, and the worker
node killed mid-run. Prints one JSON line: the ids that came out and the manifest's rows."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fake_openai_server import FakeOpenAIServer, Reply, fake_judge_job

ROWS = 80


def main(workdir: Path) -> None:
    import ray
    from ray.cluster_utils import Cluster

    from pipeline.runner import run_job
    from pipeline.spec_loader import parse_spec

    data = workdir / "in"
    data.mkdir()
    for part in range(8):
        rows = range(part * 10, part * 10 + 10)
        table = pa.table({"id": [f"r{n:03d}" for n in rows], "response": [f"a {n}" for n in rows]})
        pq.write_table(table, data / f"part-{part}.parquet")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    worker = cluster.add_node(num_cpus=2)
    ray.init(address=cluster.address)
    outcome: dict[str, object] = {}
    with FakeOpenAIServer() as server:
        server.on(Reply(sleep_s=0.05))
        raw = fake_judge_job(
            str(data), str(workdir / "run"), server.url, batch_size=4, max_concurrency=1,
            num_cpus=0.5, concurrency=2,
        )  # fmt: skip

        def job() -> None:
            try:
                outcome["result"] = run_job(parse_spec(raw))
            except Exception as exc:  # reported in the JSON line
                outcome["error"] = repr(exc)

        thread = threading.Thread(target=job)
        thread.start()
        deadline = time.monotonic() + 120
        while len(server.bodies("/v1/completions")) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        scored_before = len(server.bodies("/v1/completions"))
        cluster.remove_node(worker, allow_graceful=False)
        thread.join(timeout=400)
    result = outcome.get("result")
    ids = []
    if result is not None:
        ids = pq.read_table(f"{result.run_dir}/scores", columns=["id"])["id"].to_pylist()
    print(
        json.dumps(
            {
                "killed_after_requests": scored_before,
                "ids": sorted(ids),
                "rows": None if result is None else result.manifest["rows"],
                "error": outcome.get("error"),
            }
        )
    )
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
