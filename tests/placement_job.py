"""Run by tests/test_placement.py in its own process: a head and a worker node on this machine
(ray.cluster_utils.Cluster, 127.0.0.1 only) where only the worker offers the custom resource
`judge` and the label rayscore/role=judge, and jobs placed with judge.resources and
judge.node_labels. Prints one JSON line: the nodes' ids and, per job, the manifest's
judge.nodes, the ids that came out, the manifest's rows, or the error."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from fake_openai_server import FakeOpenAIServer, Reply, fake_judge_job

ROWS = 40
LOCAL = "127.0.0.1"
# Every Ray process on 127.0.0.1 only (else Ray binds the machine's address); read when ray is
# imported, and inherited by the nodes this starts.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True,
          "kv_cache_memory_bytes": 128 << 20}  # fmt: skip


def run(raw: dict[str, Any]) -> dict[str, Any]:
    from pipeline.runner import run_job
    from pipeline.spec_loader import parse_spec

    started = time.monotonic()
    try:
        result = run_job(parse_spec(raw))
    except Exception as exc:  # reported in the JSON line
        return {"error": f"{type(exc).__name__}: {exc}", "s": round(time.monotonic() - started, 1)}
    ids = pq.read_table(f"{result.run_dir}/scores", columns=["id"])["id"].to_pylist()
    return {
        "error": None,
        "nodes": result.manifest["judge"]["nodes"],
        "ids": sorted(ids),
        "rows": result.manifest["rows"],
        "s": round(time.monotonic() - started, 1),
    }


def main(workdir: Path, model: str) -> None:
    import ray
    from ray.cluster_utils import Cluster

    data = workdir / "in"
    data.mkdir()
    for part in range(4):
        rows = range(part * 10, part * 10 + 10)
        table = pa.table({"id": [f"r{n:03d}" for n in rows], "response": [f"a {n}" for n in rows]})
        pq.write_table(table, data / f"part-{part}.parquet")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    worker = cluster.add_node(num_cpus=2, resources={"judge": 2}, labels={"rayscore/role": "judge"})
    assert cluster.address.startswith(f"{LOCAL}:"), cluster.address
    ray.init(address=cluster.address)
    head_id = next(n["NodeID"] for n in ray.nodes() if n["NodeID"] != worker.node_id)
    report: dict[str, Any] = {"head": head_id, "worker": worker.node_id, "jobs": {}}
    jobs = report["jobs"]
    with FakeOpenAIServer() as server:
        server.on(Reply(sleep_s=0.01))

        def fake(name: str, **judge: Any) -> dict[str, Any]:
            return fake_judge_job(str(data), str(workdir / name), server.url, batch_size=4,
                                  max_concurrency=1, num_cpus=0.5, **judge)  # fmt: skip

        raw = fake("resources", concurrency=2, resources={"judge": 1})
        # a cross-sample scorer too: its tasks ask for no `judge` and run wherever CPUs are
        raw["definition"]["scorers"].append({"type": "uniqueness", "column": "response"})
        jobs["resources"] = run(raw)
        jobs["labels"] = run(fake("labels", node_labels={"rayscore/role": "judge"}))
        jobs["missing"] = run(fake("missing", resources={"gpu_judge": 1}))
    if model:
        jobs["engine"] = run(
            {
                "name": "engine-placement",
                "input": {"path": str(data), "id_column": "id"},
                "output": {"path": str(workdir / "engine")},
                "judge": {
                    "model": model,
                    "engine_kwargs": ENGINE,
                    "batch_size": 20,
                    "resources": {"judge": 1},
                    "min_label_mass": 0,  # the untrained tiny model answers no label
                },
                "definition": {
                    "scorers": [
                        {
                            "type": "checklist",
                            "key": "q",
                            "target_column": "response",
                            "checklist": [{"question": "Is it good?"}],
                        }
                    ]
                },
            }
        )
    print(json.dumps(report))
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")
