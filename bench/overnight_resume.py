"""A simulated overnight run: a whole job on the small local judge, its driver killed half-way
(SIGKILL to its process group, the way a lost head node or a preempted machine ends it), then
the same command again. The peer figure is the same job run once without interruption.

Prints one JSON line: the share of judge requests the resumed attempt made of all the run's
requests (lower is better: 0.5 means nothing committed before the kill was judged again),
with both attempts' wall times and requests, and the uninterrupted run's.

    .venv/bin/python bench/overnight_resume.py --rows 200000 [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from bench.rayscore_job import start_run

ROOT = Path(__file__).resolve().parents[1]


def spec(data: Path, model: Path, out: Path) -> dict[str, object]:
    demo = yaml.safe_load((ROOT / "jobs" / "examples" / "demo.yaml").read_text())
    demo["input"]["path"] = str(data)
    demo["judge"]["model"] = str(model)
    demo["judge"]["min_label_mass"] = 0  # the untrained tiny model answers no label
    demo["output"] = {"path": str(out)}
    return dict(demo)


def run(spec_file: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "jobs.cli", "run", str(spec_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return time.monotonic() - started, done


def committed_rows(shards: Path) -> int:
    total = 0
    for path in shards.glob("shard-*.parquet"):
        try:
            total += pq.read_metadata(path).num_rows
        except OSError:
            continue
    return total


def killed_half_way(spec_file: Path, shards: Path, rows: int) -> tuple[float, int]:
    """Start the job, SIGKILL its whole session once half the rows are committed."""
    import psutil

    started = time.monotonic()
    driver = start_run(spec_file)
    while driver.poll() is None and committed_rows(shards) < rows // 2:
        time.sleep(0.5)
    os.killpg(driver.pid, signal.SIGKILL)
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == driver.pid:
                proc.kill()
        except (ProcessLookupError, psutil.Error, PermissionError):
            continue
    driver.wait()
    return time.monotonic() - started, committed_rows(shards)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-peer", action="store_true", help="skip the uninterrupted run")
    args = parser.parse_args()

    from jobs.demo.demo_data import write_demo_data
    from jobs.demo.tiny_model import build_tiny_model

    work = Path(tempfile.mkdtemp(prefix="rayscore-overnight-"))
    model = build_tiny_model(work / "model")
    data = write_demo_data(work / "data.parquet", n_rows=args.rows)
    figures: dict[str, object] = {"rows": args.rows}

    victim = work / "victim.yaml"
    victim.write_text(yaml.safe_dump(spec(data, model, work / "run")))
    first_s, committed = killed_half_way(victim, work / "run" / ".rayscore" / "judged", args.rows)
    second_s, _ = run(victim)
    manifest = json.loads((work / "run" / "manifest.json").read_text())
    judge = manifest["judge"]
    figures |= {
        "attempt1_s_until_killed": round(first_s, 1),
        "rows_committed_when_killed": committed,
        "attempt2_s": round(second_s, 1),
        "attempt2_requests": judge["requests_this_attempt"],
        "all_requests": judge["requests"],
        "shards_reused": manifest["resume"]["shards_reused"],
        "rows_out": manifest["rows"]["out"],
    }
    peer: dict[str, object] = {}
    if not args.no_peer:
        whole = work / "whole.yaml"
        whole.write_text(yaml.safe_dump(spec(data, model, work / "whole")))
        whole_s, _ = run(whole)
        peer = {
            "uninterrupted_s": round(whole_s, 1),
            "attempts_total_s": round(first_s + second_s, 1),
        }
    share = judge["requests_this_attempt"] / judge["requests"]
    print(
        json.dumps(
            {
                "bench": "overnight_resume",
                "value": round(share, 4),
                "target": 0.55,
                "better": "lower",
                "unit": "judge requests of the resumed attempt / all requests of the run",
                **figures,
                "peer": peer,
            }
        )
    )


if __name__ == "__main__":
    main()
