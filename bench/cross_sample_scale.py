"""Uniqueness and near-duplicates over a large synthetic corpus, on a local Ray cluster.

rayscore runs both as group-bys per hash partition in Ray tasks (text digests; MinHash LSH
band buckets) that never hold the corpus in one process; only rows in shared groups reach the
driver. The same run also times the single-process way (Polars
group-by for exact duplicates, datasketch's in-memory MinHashLSH for near duplicates) and
checks that both find the same duplicates. Prints one JSON line.

    .venv/bin/python bench/cross_sample_scale.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

WORDS = (
    "the a model answer question paris london capital city river water boils degrees "
    "python list reverse egg minutes cold hot fast slow because therefore however correct "
    "wrong number sum result explain step first second finally data table row column"
).split()


def corpus(rows: int, seed: int = 0) -> list[str]:
    """~8% exact copies (case/space changed) and ~4% near copies (one word changed)."""
    rng = random.Random(seed)
    texts: list[str] = []
    for n in range(rows):
        roll = rng.random()
        if texts and roll < 0.08:
            texts.append("  " + rng.choice(texts).upper())
        elif texts and roll < 0.12:
            words = rng.choice(texts).split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            texts.append(" ".join(words))
        else:
            texts.append(" ".join(rng.choices(WORDS, k=rng.randint(30, 45))) + f" #{n}")
    return texts


def write_corpus(folder: Path, texts: list[str], files: int = 8) -> None:
    size = -(-len(texts) // files)
    for f in range(files):
        chunk = texts[f * size : (f + 1) * size]
        ids = [f"r{f * size + i:08d}" for i in range(len(chunk))]
        pq.write_table(pa.table({"id": ids, "response": chunk}), folder / f"part-{f}.parquet")


class PeakMemory:
    """Peak machine-wide used memory above the starting level, sampled every 0.2 s
    (machine-wide, so Ray's worker processes count too)."""

    def __init__(self) -> None:
        self.base = psutil.virtual_memory().used
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, psutil.virtual_memory().used - self.base)
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measured(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    with PeakMemory() as memory:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return result, round(seconds, 1), round(memory.peak / 2**30, 2)


def rayscore_job(folder: Path, out: Path, threshold: float, shingle: int) -> dict[str, Any]:
    from pipeline.runner import run_job
    from pipeline.spec_loader import parse_spec

    spec = parse_spec(
        {
            "name": "scale",
            "input": {"path": str(folder), "id_column": "id"},
            "output": {"path": str(out)},
            "definition": {
                "scorers": [
                    {"type": "uniqueness", "key": "exact", "column": "response"},
                    {
                        "type": "near_duplicates",
                        "key": "near",
                        "column": "response",
                        "threshold": threshold,
                        "shingle_size": shingle,
                    },
                ]
            },
        }
    )
    run_job(spec)
    import polars as pl

    scores = pl.read_parquet(f"{out}/scores/*.parquet")
    return {
        "rows": scores.height,
        "not_unique": int((~scores["exact"].struct.field("is_unique")).sum()),
        "near_duplicates": int(scores["near"].struct.field("is_near_duplicate").sum()),
    }


def single_process(texts: list[str], threshold: float, shingle: int) -> dict[str, Any]:
    import polars as pl
    from datasketch import MinHash, MinHashLSH

    from scorers.cross_sample.near_duplicates import shingles

    frame = pl.DataFrame({"t": texts}).with_columns(
        key=pl.col("t").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    )
    counts = frame.group_by("key").len()
    not_unique = int(counts.filter(pl.col("len") > 1)["len"].sum())
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    signatures = []
    for n, text in enumerate(texts):
        m = MinHash(num_perm=128, seed=1)
        m.update_batch(list(shingles(text, shingle)))
        lsh.insert(n, m)
        signatures.append(m)
    near = sum(1 for n, m in enumerate(signatures) if len(lsh.query(m)) > 1)
    return {"rows": len(texts), "not_unique": not_unique, "near_duplicates": near}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--shingle-size", type=int, default=3)
    args = parser.parse_args()
    import ray

    texts = corpus(args.rows)
    local, local_s, local_gb = measured(
        lambda: single_process(texts, args.threshold, args.shingle_size)
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "corpus")
        folder.mkdir()
        write_corpus(folder, texts)
        ray.init(
            address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False
        )
        ray.data.DataContext.get_current().enable_progress_bars = False
        distributed, ray_s, ray_gb = measured(
            lambda: rayscore_job(folder, Path(tmp, "run"), args.threshold, args.shingle_size)
        )
        ray.shutdown()
    print(
        json.dumps(
            {
                "bench": "cross_sample_scale",
                "rows": args.rows,
                "cpus": os.cpu_count(),
                "rayscore_ray_data": {"seconds": ray_s, "peak_memory_gb": ray_gb, **distributed},
                "single_process": {"seconds": local_s, "peak_memory_gb": local_gb, **local},
                "same_exact_duplicates": distributed["not_unique"] == local["not_unique"],
                "same_near_duplicates": distributed["near_duplicates"] == local["near_duplicates"],
            }
        )
    )


if __name__ == "__main__":
    main()
