"""judge_efficiency: rayscore's judge stage, steady state, against the engine alone.

The ceiling is the engine given the very same requests (rayscore's own prompts, as the token
ids its judge sends) in one `generate` call in one process, timed around that call only.
rayscore's steady state is two real `rayscore run`s of the same data, a small one and a large
one: the difference in requests over the difference in judge-stage seconds, so the fixed
cost (Ray Data's plan, the actor, the engine load) cancels. Also reported: the engine alone
in calls of the job's batch size, which separates what batching costs from what the
pipeline around the engine costs.

Two workloads: item mode (one token, label log-probs; target >= 0.95) and batch mode with
reasoning (one constrained generation per sample; target >= 0.85).

    .venv/bin/python -m bench.judge_efficiency [--samples 500] [--reasoning-samples 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.rayscore_job import run_job
from bench.result import print_result
from bench.workload import ENGINE_KWARGS, MODEL, spec, write_rows
from pipeline.plan import plan_of
from pipeline.spec_loader import parse_spec
from scorers.registry import judged_scorer

ITEM_TARGET = 0.95
REASONING_TARGET = 0.85
SMALL_SAMPLES = 4
REASONING = {"mode": "batch", "capture_reasoning": True, "reasoning_max_chars": 40}


def engine_alone(job: dict[str, Any], data: Path, batch_samples: int) -> dict[str, float]:
    """Requests/s of the engine over all the job's requests: in one call, and in calls of
    `batch_samples` samples (as the job's batches)."""
    import pyarrow.parquet as pq

    from scorers.judge.device_defaults import engine_defaults
    from scorers.judge.vllm_judge import VllmJudge

    engine_defaults().apply_env()
    table = pq.read_table(data)
    scorer = judged_scorer(plan_of(parse_spec(job)).judged[0])
    judge = VllmJudge(str(MODEL), dict(ENGINE_KWARGS))
    batches = [
        engine_inputs(judge, scorer.prepare(table.slice(start, batch_samples)))
        for start in range(0, table.num_rows, batch_samples)
    ]
    whole = engine_inputs(judge, scorer.prepare(table))
    judge.llm.generate(*engine_inputs(judge, scorer.prepare(table.slice(0, 1))), use_tqdm=False)
    judge.llm.reset_prefix_cache()
    requests = len(whole[0])
    started = time.perf_counter()
    judge.llm.generate(*whole, use_tqdm=False)
    one_call = time.perf_counter() - started
    judge.llm.reset_prefix_cache()
    started = time.perf_counter()
    for prompts, params in batches:
        judge.llm.generate(prompts, params, use_tqdm=False)
    in_batches = time.perf_counter() - started
    threads = _engine_threads_like_the_actor(judge, whole)
    return {
        "requests": requests,
        "one_call": requests / one_call,
        "in_batches": requests / in_batches,
        "one_call_actor_threads": requests / threads,
    }


def _engine_threads_like_the_actor(judge: Any, whole: tuple[list[Any], Any]) -> float:
    """Seconds for the one call again, on as many threads as a judge actor's engine gets (Ray
    sets OMP_NUM_THREADS to the actor's num_cpus, 1 here): the rest of the machine is what the
    pipeline around the engine runs on."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    judge.llm.reset_prefix_cache()
    started = time.perf_counter()
    judge.llm.generate(*whole, use_tqdm=False)
    seconds = time.perf_counter() - started
    torch.set_num_threads(threads)
    return seconds


def engine_inputs(judge: Any, prepared: Any) -> tuple[list[Any], Any]:
    """The prompts and sampling params rayscore's judge hands the engine for a batch."""
    if prepared.generation:
        _, prompts, params, _ = judge.generation_inputs(prepared.generation, prepared.answer_values)
        return prompts, params
    ids = judge.encode(prepared.prompts)
    return judge.label_inputs(ids, judge.label_ids(prepared.label_set))


def rayscore_steady(
    work: Path, name: str, samples: int, batch_samples: int, scorer: dict[str, Any]
) -> dict[str, float]:
    """Requests/s of the judge stage between a small and a large run of the same job."""
    runs = []
    for size in (SMALL_SAMPLES, samples):
        data = write_rows(work / f"{name}-{size}.parquet", size)
        job = spec(data, work / "out", batch_size=batch_samples, scorer=scorer)
        runs.append(run_job(job, work, f"{name}-{size}"))
    small, large = runs
    return {
        "requests": large.requests,
        "steady": (large.requests - small.requests) / (large.judge_s - small.judge_s),
        "judge_s": large.judge_s,
        "fixed_s": small.judge_s,
    }


def measure(
    work: Path, name: str, samples: int, batch_samples: int, scorer: dict[str, Any]
) -> dict[str, float]:
    data = write_rows(work / f"{name}.parquet", samples)
    alone = engine_alone(spec(data, work / "x", scorer=scorer), data, batch_samples)
    ours = rayscore_steady(work, name, samples, batch_samples, scorer)
    return {
        "ratio": ours["steady"] / alone["one_call"],
        "rayscore_requests_per_s": round(ours["steady"], 2),
        "engine_one_call_requests_per_s": round(alone["one_call"], 2),
        "engine_in_job_batches_requests_per_s": round(alone["in_batches"], 2),
        "engine_one_call_1_thread_requests_per_s": round(alone["one_call_actor_threads"], 2),
        "ratio_to_engine_on_the_actors_threads": round(
            ours["steady"] / alone["one_call_actor_threads"], 4
        ),
        "requests": alone["requests"],
        "rayscore_judge_stage_s": round(ours["judge_s"], 2),
        "rayscore_fixed_s": round(ours["fixed_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--reasoning-samples", type=int, default=64)
    parser.add_argument("--reasoning-batch-size", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        item = measure(work, "item", args.samples, args.batch_size, {})
        reasoning = measure(
            work, "reasoning", args.reasoning_samples, args.reasoning_batch_size, REASONING
        )
    print_result(
        "judge_efficiency",
        item.pop("ratio"),
        ITEM_TARGET,
        "higher",
        "rayscore judge stage steady-state requests/s / engine alone, one call",
        {"engine alone, item mode": item["engine_one_call_requests_per_s"]},
        item_mode=item,
        batch_reasoning_ratio=round(reasoning.pop("ratio"), 4),
        batch_reasoning_target=REASONING_TARGET,
        batch_reasoning=reasoning,
    )


if __name__ == "__main__":
    main()
