"""Run a rayscore job as a user does (`rayscore run SPEC`, its own process, Ray and engine
start included) and read back what the benchmarks compare: wall time, the manifest, and
every item's confidence."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class JobRun:
    wall_s: float
    manifest: dict[str, Any]
    out: Path

    @property
    def judge_s(self) -> float:
        return float(self.manifest["timings_s"]["score"])

    @property
    def requests(self) -> int:
        return int(self.manifest["judge"]["requests"])

    def item_confidences(
        self, scorer: str = "quality", fields: tuple[str, ...] = ("confidence",)
    ) -> pl.DataFrame:
        """id, index and the items' `fields`: one row per judged item."""
        return (
            pl.read_parquet(self.out / "scores")
            .select("id", pl.col(scorer).struct.field("item_scores").alias("item"))
            .explode("item")
            .unnest("item")
            .select("id", "index", *fields)
            .sort("id", "index")
        )


def start_run(spec_file: Path) -> subprocess.Popen[bytes]:
    """`rayscore run SPEC` as a driver in a session of its own (start_module)."""
    return start_module("jobs.cli", "run", str(spec_file))


def start_module(module: str, *args: str) -> subprocess.Popen[bytes]:
    """`python -m MODULE ARGS` in a session of its own, its output discarded: killing the
    session stops it and the local Ray cluster it started (the resume benches and tests kill
    a run part way)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_job(
    spec: dict[str, Any], workdir: Path, name: str, env: dict[str, str] | None = None
) -> JobRun:
    """Write `spec` to `workdir/<name>.yaml` with its output in `workdir/<name>` and run it
    (in `env`, e.g. one whose RAY_ADDRESS names a cluster with warm judges: bench.ray_head)."""
    out = workdir / name
    spec = {**spec, "output": {**spec.get("output", {}), "path": str(out)}}
    spec_file = workdir / f"{name}.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "run", str(spec_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"rayscore run {spec_file} failed:\n{done.stderr[-3000:]}")
    return JobRun(wall, json.loads((out / "manifest.json").read_text()), out)
