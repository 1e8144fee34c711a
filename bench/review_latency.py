"""The review app on a large run: how long its pages take on `--rows` samples (issue 23).

A finished run of `--rows` samples x `--items` checklist items is made by a real rayscore job
whose judge is bench.pipeline_overhead's InstantFakeJudge (a FAKE engine: fixed log-probs, so
the run is large without hours of judging). The app (jobs.review) is then asked, in process
through FastAPI's TestClient, for the samples page plain, sorted by score, filtered by score,
filtered by an item's answer and searched for one sample's text, then one sample's page, the
label queue and the overview; each the best of three tries after a first (the first is given
too). The figure is the slowest samples-page request (target: under 2 s here). Peer: reading
scores/ whole with Polars, what a page would cost without lazy scans.

    .venv/bin/python -m bench.review_latency --rows 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from bench.harness import load_average, start_ray
from bench.pipeline_overhead import install_fake_judge, job_spec, run_rayscore, write_input
from bench.result import print_result

TARGET_S = 2.0
TOKEN = "bench-token"
TRIES = 3


def timed_get(client: object, path: str) -> tuple[float, float]:
    """(first request's seconds, best of TRIES after it); raises unless each answers 200."""
    times = []
    for _ in range(TRIES + 1):
        started = time.perf_counter()
        response = client.get(path)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return times[0], min(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=4)
    args = parser.parse_args()
    import ray
    from fastapi.testclient import TestClient

    from jobs.review.access import cookie_name
    from jobs.review.app import create_app
    from jobs.review.review_run import open_review

    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_input(Path(tmp, "input"), args.rows)
        out = Path(tmp, "run")
        start_ray(install_fake_judge)
        manifest, job_s = run_rayscore(job_spec(data, out, args.items, 64))
        ray.shutdown()
        started = time.perf_counter()
        client = TestClient(create_app(open_review(str(out), author="bench"), TOKEN))
        client.cookies.set(cookie_name(None), TOKEN)
        open_s = time.perf_counter() - started
        middle = f"s{args.rows // 2:08d}"
        samples = {
            "plain": "/samples",
            "sorted by score": "/samples?sort=quality&desc=1",
            "score filter": "/samples?scorer=quality&score_min=0.5&page=3",
            "item answer filter": "/samples?item=1&answer=no",
            "search": f"/samples?q=note+{middle}",
        }
        others = {
            "sample": f"/samples/{middle}",
            "label queue": "/queue",
            "overview": "/overview",
        }
        pages = {name: timed_get(client, path) for name, path in {**samples, **others}.items()}
        started = time.perf_counter()
        whole = pl.read_parquet(out / "scores")
        peer_s = time.perf_counter() - started
        slowest = max(pages[name][1] for name in samples)
        print_result(
            "review_latency",
            slowest,
            TARGET_S,
            "lower",
            "s, slowest samples-page request (best of 3 after a first)",
            peer={"polars_read_whole_scores_s": round(peer_s, 3), "rows": whole.height},
            rows=args.rows,
            items=args.items,
            job_s=round(job_s, 1),
            judge_requests=manifest["judge"]["requests"],
            app_open_s=round(open_s, 3),
            pages_s={
                name: [round(first, 3), round(best, 3)] for name, (first, best) in pages.items()
            },
            load_before=load_before,
            load_after=load_average(),
        )


if __name__ == "__main__":
    main()
