"""plan_accuracy: how close `rayscore plan --probe N` comes to the run it forecasts. The demo
job (jobs/examples/demo.yaml, its annotations and calibration included) over `--rows` demo
rows: first `rayscore plan SPEC --probe N`, then `rayscore run SPEC`, each its own process.
The figure is the predicted wall time's error against the run's own (manifest timings_s.wall);
judge requests must match exactly. The peer is the naive forecast a manifest alone allows:
the probe's judgments/s over its whole judge stage (engine start included), scaled.

    .venv/bin/python -m bench.plan_accuracy [--rows 2000] [--probe 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.rayscore_job import ROOT, run_job
from bench.result import print_result
from jobs.demo.demo_data import write_demo_data

TARGET = 0.30


def demo_spec(data: Path) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load((ROOT / "jobs" / "examples" / "demo.yaml").read_text())
    spec["input"]["path"] = str(data)
    spec["judge"]["model"] = str(ROOT / "models" / "tiny-judge")
    return spec


def forecast(spec: dict[str, Any], work: Path, probe: int, sample: int) -> dict[str, Any]:
    spec_file = work / "plan.yaml"
    spec_file.write_text(yaml.safe_dump({**spec, "output": {"path": str(work / "unused")}}))
    figures = work / "plan.json"
    argv = ["plan", str(spec_file), "--probe", str(probe), "--sample", str(sample)]
    done = subprocess.run(
        [sys.executable, "-m", "jobs.cli", *argv, "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"rayscore plan failed:\n{done.stderr[-3000:]}")
    loaded: dict[str, Any] = json.loads(figures.read_text())
    return loaded


def naive_wall_s(figures: dict[str, Any]) -> float:
    """The probe's whole judge stage as if it were all judging, scaled to every judgment."""
    probe = figures["probe"]
    rate = probe["requests"] / probe["score_s"]
    return float(probe["wall_s"] - probe["score_s"] + figures["judgments"] / rate)


def probe_timings(figures: dict[str, Any]) -> dict[str, Any]:
    """What the probe measured: its wall and score stage, and its judge's own clock."""
    probe = figures["probe"]
    keys = ("wall_s", "score_s", "requests", "judge_timings_s")
    return {key: probe[key] for key in keys if key in probe}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--probe", type=int, default=100)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_demo_data(work / "demo.parquet", n_rows=args.rows)
        spec = demo_spec(data)
        figures = forecast(spec, work, args.probe, args.sample)
        actual = run_job(spec, work, "run")
    predicted = figures["probe"]["predicted"]["wall_s"]
    wall = float(actual.manifest["timings_s"]["wall"])
    naive = naive_wall_s(figures)
    print_result(
        "plan_accuracy",
        abs(predicted / wall - 1),
        TARGET,
        "lower",
        "|predicted wall / actual wall - 1|",
        {"naive (probe judge stage scaled)": round(abs(naive / wall - 1), 4)},
        rows=args.rows,
        probe_rows=args.probe,
        requests_predicted=figures["judgments"],
        requests_actual=actual.requests,
        requests_exact=figures["judgments"] == actual.requests,
        wall_predicted_s=predicted,
        wall_actual_s=wall,
        wall_naive_s=round(naive, 1),
        process_wall_s=round(actual.wall_s, 1),
        judgments_per_s_per_actor=figures["probe"]["predicted"]["judges"]["judge"][
            "judgments_per_s_per_actor"
        ],
        probe_timings_s=probe_timings(figures),
        run_timings_s={
            **actual.manifest["judge"]["timings_s"]["judge"],
            "score": actual.manifest["timings_s"]["score"],
            "judgments_per_s_per_actor": round(
                actual.requests / actual.manifest["judge"]["timings_s"]["judge"]["judging_s"], 2
            ),
        },
        prefix_cache_share_forecast=round(figures["judges"]["judge"]["prefix_cache_share"], 4),
        prefix_cache_share_actual=round(
            actual.manifest["judge"]["cached_prompt_tokens"]
            / max(actual.manifest["judge"]["prompt_tokens"], 1),
            4,
        ),
    )


if __name__ == "__main__":
    main()
