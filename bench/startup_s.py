"""startup_s: seconds from `rayscore run` to the first judgment, with where they go.

A one-sample job (20 checklist items): the score pass ends with its first batch, so process
start to the end of the score pass is the time to the first judgment. The breakdown comes
from the manifest's stage times; what happens inside the judge stage (the actor, `import
vllm`, the engine load) is measured the same way in a bare process, which is also the peer:
the engine alone, imported, loaded and judging once, is the floor any job pays.

The warm case runs the same job on a Ray head started here whose judge was loaded first
(`rayscore judges up`): the run starts no engine, so its first judgment waits only on
Python, the cluster join and Ray Data (target WARM_TARGET).

    .venv/bin/python -m bench.startup_s
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ray_head import ray_head, warm_up
from bench.rayscore_job import ROOT, JobRun, run_job
from bench.result import print_result
from bench.workload import ENGINE_KWARGS, MODEL, spec, write_rows

TARGET = 12.0
WARM_TARGET = 3.0
BEFORE_JUDGE = ("checks", "probe", "ray", "cross_sample", "score")
AFTER_JUDGE = ("annotations", "agreement", "summary", "commit")
ENGINE_ALONE = """
import json, os, sys, time
start = time.perf_counter()
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
import vllm
imported = time.perf_counter()
llm = vllm.LLM(model=sys.argv[1], seed=0, enable_prefix_caching=True, **json.loads(sys.argv[2]))
loaded = time.perf_counter()
llm.generate(["Is this a test?"], vllm.SamplingParams(max_tokens=1), use_tqdm=False)
done = time.perf_counter()
print(json.dumps({"import_vllm": imported - start, "engine_load": loaded - imported,
                  "first_judgment": done - loaded, "total": done - start}))
"""


def cli_import_s() -> float:
    """Python start plus rayscore's CLI imports (what runs before the first stage)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import jobs.cli"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def engine_alone() -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", ENGINE_ALONE, str(MODEL), json.dumps(ENGINE_KWARGS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return {k: round(v, 2) for k, v in times.items()}


def first_judgment_s(run: JobRun, imports: float) -> float:
    """Process start to the end of the score pass (its one batch)."""
    stages = run.manifest["timings_s"]
    return imports + sum(float(stages[name]) for name in BEFORE_JUDGE)


def warm_case(data: Path, work: Path, imports: float) -> dict[str, object]:
    """The job on a judge made warm first, on a head of its own, twice: the first try pays
    Ray Data's one-time set-up on that cluster, the next is what each later try costs."""
    with ray_head() as env:
        up_s = warm_up(spec(data, work / "unused"), work, env)
        tries = [run_job(spec(data, work / f"warm{n}"), work, f"warm{n}", env=env) for n in (1, 2)]
    if not all(run.manifest["judge"].get("warm") for run in tries):
        raise SystemExit("a warm run did not use the warm judge (manifest judge.warm empty)")
    first, following = (first_judgment_s(run, imports) for run in tries)
    stages = tries[0].manifest["timings_s"]
    return {
        "first_judgment_s": round(first, 2),
        "next_try_first_judgment_s": round(following, 2),
        "target": WARM_TARGET,
        "met": first <= WARM_TARGET,
        "breakdown": {
            "python_and_cli_imports": round(imports, 2),
            "checks": stages["checks"],
            "ray_join": stages["ray"],
            "score_pass_one_batch": stages["score"],
            "engine_start_s_of_the_run": tries[0].manifest["judge"]["timings_s"],
        },
        "judges_up_s (paid once, before)": round(up_s, 2),
        "whole_job_s": [round(run.wall_s, 2) for run in tries],
    }


def main() -> None:
    imports = cli_import_s()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_rows(work / "one.parquet", 1)
        run = run_job(spec(data, work / "out"), work, "startup")
        warm = warm_case(data, work, imports)
    stages = run.manifest["timings_s"]
    after = sum(float(stages.get(name, 0.0)) for name in AFTER_JUDGE)
    first_judgment = first_judgment_s(run, imports)
    alone = engine_alone()
    print_result(
        "startup_s",
        first_judgment,
        TARGET,
        "lower",
        "s from `rayscore run` to the first judgment",
        {"engine alone (import vllm, load, one judgment)": alone["total"]},
        breakdown={
            "python_and_cli_imports": round(imports, 2),
            "checks": stages["checks"],
            "ray_start": stages["ray"],
            "score_pass_one_batch": stages["score"],
            "of_which_in_a_bare_process": alone,
        },
        stages_after_the_first_judgment_s=round(after, 2),
        whole_job_s=round(run.wall_s, 2),
        warm=warm,
    )


if __name__ == "__main__":
    main()
