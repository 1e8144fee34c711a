"""Resume scaling: what skipping already-written rows costs per block, as written rows grow.

A `--rows`-row job with the instant FAKE judge (bench.pipeline_overhead's: no model) is run as
a user runs it, in its own process with its own local Ray, and SIGKILLed (its whole process
group) once its parts hold 10%, 50% and 90% of the rows. After each kill, the resume's own work
is timed in this process, with no Ray:
  - plan: the shard plan from Parquet metadata, the parts listed, the shards left (driver);
  - per block: each row group left to read, read as the resumed run reads it (leaving out
    the rows its shards' parts hold) minus the same read of a fresh run; ms per block.
The figure is the per-block overhead at 90% over that at 10% (flat: about 1; target <= 2).
The 50% run is then resumed for real (same command): its rows are checked, exactly once.

    .venv/bin/python -m bench.resume_scaling                  # 10,000,000 rows
    .venv/bin/python -m bench.resume_scaling --rows 1000000   # quick
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.harness import load_average
from bench.pipeline_overhead import write_input
from bench.rayscore_job import start_module
from bench.result import print_result
from bench.workload import spec as workload_spec

TARGET = 2.0
FRACTIONS = (0.1, 0.5, 0.9)


def child(spec_file: str) -> None:
    """The job, as `rayscore run` runs it, with the fake judge in every Ray worker."""
    from bench.harness import start_ray
    from bench.pipeline_overhead import install_fake_judge
    from pipeline.runner import run_job
    from pipeline.spec_loader import load_spec

    start_ray(install_fake_judge)
    run_job(load_spec(spec_file))


def start_job(spec_file: Path) -> subprocess.Popen[bytes]:
    return start_module("bench.resume_scaling", "--child", str(spec_file))


def written_rows(out: Path) -> int:
    import pyarrow.fs as pafs

    from pipeline.storage.parts import list_parts

    folder = out / ".rayscore" / "scored" / "scores"
    return sum(p.rows for p in list_parts(str(folder), pafs.LocalFileSystem()))


def kill_at(spec_file: Path, out: Path, rows: int, fraction: float) -> int:
    """Run the job until its parts hold `fraction` of the rows, then SIGKILL it; rows held."""
    job = start_job(spec_file)
    try:
        while job.poll() is None and written_rows(out) < fraction * rows:
            time.sleep(0.2)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    return written_rows(out)


def resume_costs(data: Path, out: Path, shard_mib: float) -> dict[str, Any]:
    """The resume's planning seconds and its read overhead per block, in ms."""
    import pyarrow.fs as pafs

    from pipeline.stages.read_shards import read_row_group, shards_to_read
    from pipeline.storage.parts import list_parts
    from pipeline.storage.shard_plan import plan_shards

    fs = pafs.LocalFileSystem()
    files = sorted(str(p) for p in data.glob("*.parquet"))
    began = time.perf_counter()
    shards = plan_shards(files, fs, shard_mib)
    parts = list_parts(str(out / ".rayscore" / "scored" / "scores"), fs)
    todo = shards_to_read(shards, parts)
    plan_s = time.perf_counter() - began
    groups: dict[tuple[str, int], list[Any]] = {}
    for item in todo:
        groups.setdefault((item.shard.file, item.shard.row_group), []).append(item)
    partial = [g for g in groups.values() if any(i.committed_parts for i in g)]
    extra = []
    columns = ["id", "prompt", "response"]
    for group in partial[:8]:  # the blocks that read parts' ids: where any cost would grow
        fresh = [type(i)(i.shard, ()) for i in group]
        t0 = time.perf_counter()
        list(read_row_group(fresh, fs, columns, "id"))
        t1 = time.perf_counter()
        list(read_row_group(group, fs, columns, "id"))
        t2 = time.perf_counter()
        extra.append(((t2 - t1) - (t1 - t0)) * 1000 / len(group))
    return {
        "plan_s": round(plan_s, 4),
        "shards": len(shards),
        "shards_left": len(todo),
        "partial_row_groups": len(partial),
        "ms_per_block": round(sum(extra) / len(extra), 3) if extra else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_input(Path(tmp, "input"), args.rows)
        raw = workload_spec(data, Path(tmp, "run"), items=2, batch_size=64)
        shard_mib = float(raw.get("output", {}).get("shard_mib", 1.0))
        by_fraction: dict[str, Any] = {}
        for fraction in FRACTIONS:
            out = Path(tmp, f"run-{fraction}")
            spec_file = Path(tmp, f"run-{fraction}.yaml")
            spec_file.write_text(
                yaml.safe_dump({**raw, "output": {**raw["output"], "path": str(out)}})
            )
            held = kill_at(spec_file, out, args.rows, fraction)
            by_fraction[f"{fraction:.0%}"] = {
                "rows_written": held,
                **resume_costs(data, out, shard_mib),
            }
        out = Path(tmp, "run-0.5")
        began = time.perf_counter()
        resumed = start_job(Path(tmp, "run-0.5.yaml"))
        resumed.wait()
        resume_s = time.perf_counter() - began
        import polars as pl

        ids = pl.scan_parquet(out / "scores" / "*.parquet").select("id").collect()["id"]
        if ids.len() != args.rows or ids.n_unique() != args.rows:
            raise RuntimeError(f"resumed run holds {ids.len()} rows ({ids.n_unique()} distinct)")
    low, high = (by_fraction[k]["ms_per_block"] for k in ("10%", "90%"))
    value = high / low if low > 0 else 1.0
    print_result(
        "resume_scaling",
        value,
        TARGET,
        "lower",
        "resume overhead per block at 90% written / at 10%",
        {},
        rows=args.rows,
        by_fraction=by_fraction,
        resume_at_50_s=round(resume_s, 1),
        load_average_before=load_before,
        load_average_after=load_average(),
    )


if __name__ == "__main__":
    main()
