"""rayscore vs Ray Data LLM (`ray.data.llm`) on the same judge prompts: end-to-end seconds.

Both sides judge the shared workload (bench/workload.py: samples with ~500-token responses,
each on a 20-item checklist) with the same small local judge, the same vLLM engine settings
(workload.ENGINE_KWARGS plus enable_prefix_caching=True and seed 0, which rayscore sets), one
engine actor holding one CPU, and both read every judgment's label-token log-probs from one
generated token (SamplingParams(max_tokens=1, logprob_token_ids=<every Yes/No token>)).

- rayscore: the job spec is run as `python -m jobs.cli run spec.yaml` in a subprocess; its
  whole job (Ray start, judge stage, scores, summary) is timed from outside, and the
  manifest's timings_s give the judge stage alone.
- ray.data.llm: `vLLMEngineProcessorConfig` + `build_processor`, in a subprocess
  (`--side ray-data-llm`), over rayscore's exact prompt strings (built by its own checklist
  scorer, read from a Parquet file into 640-row blocks), each sent as one user chat message:
  its chat-template, tokenize and vLLM engine stages run as separate Ray Data actor stages
  (detokenize off: the one token is never read as text). On CPU it needs
  `placement_group_config: {bundles: [{CPU: 1}]}` (without one its engine actor asks for a
  GPU) and, on a 2-CPU Ray cluster, num_cpus 0.25 for its CPU stages and pre/postprocess
  (else they take the CPU the engine actor needs). The engine gets the environment
  rayscore's judge actors get (scorers.judge.device_defaults: on CPU
  VLLM_CPU_KVCACHE_SPACE=1, VLLM_ENABLE_V1_MULTIPROCESSING=0).
  Timed from outside too; inside it records ray.init, build_processor, the execution (its
  judge stage) and each Ray Data operator's wall time.

The figure is ray.data.llm's end-to-end seconds / rayscore's, for the same rows (equal to
rayscore's throughput over ray.data.llm's). The confidences P(Yes)/(P(Yes)+P(No)) are
compared item by item (max abs difference), and so are the prompt token ids. Prints one
JSON line last.

    .venv/bin/python -m bench.vs_ray_data_llm [--samples 500] [--items 20]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BENCH = "vs_ray_data_llm"
TARGET = 1.5
PROMPT_COLUMN = "judge_prompt"  # not "prompt": ray.data.llm's chat stage writes that key
# ray.data.llm's CPU stages (chat template, tokenize: one actor each) and its pre/postprocess
# and read tasks reserve 1 CPU each by default; with the engine's 1 of Ray's 2, the engine
# actor then never starts. A quarter each lets everything fit beside the engine.
SMALL_CPU = 0.25
# The engine actor's placement group bundle: one CPU here; one GPU under bench/gpu_run.sh.
BUNDLE = {"GPU": 1} if float(os.environ.get("RAYSCORE_BENCH_NUM_GPUS", "0")) else {"CPU": 1}


@dataclass(frozen=True)
class SideResult:
    """One side's end-to-end seconds, its own timings, and (id, item) -> confidence."""

    seconds: float
    timings: dict[str, float]
    confidences: dict[tuple[str, int], float | None]


# ---------------------------------------------------------------- the shared inputs


def judge_settings() -> dict[str, Any]:
    """The engine kwargs both sides run with: the workload's plus rayscore's defaults."""
    from bench.workload import ENGINE_KWARGS
    from scorers.judge.device_defaults import engine_defaults
    from scorers.judge.vllm_judge import ENGINE_KWARG_DEFAULTS

    return {**ENGINE_KWARG_DEFAULTS, **engine_defaults().engine_kwargs, **ENGINE_KWARGS}


def engine_env() -> dict[str, str]:
    """The environment rayscore's judge actors start their engine in (non-verbose run)."""
    from scorers.judge.device_defaults import engine_defaults

    return {**engine_defaults().env, "VLLM_LOGGING_LEVEL": "ERROR"}


def write_inputs(folder: Path, samples: int, items: int, batch_size: int) -> tuple[Path, Path]:
    """The rows, the rayscore spec (YAML) and the prompts file; returns (spec, prompts)."""
    import yaml

    from bench.workload import spec, write_rows

    data = write_rows(folder / "rows.parquet", samples)
    job = spec(data, folder / "rayscore-out", items=items, batch_size=batch_size)
    job["judge"]["engine_kwargs"] = judge_settings()
    spec_file = folder / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(job, sort_keys=False))
    prompts = folder / "prompts.parquet"
    pq.write_table(rayscore_prompts(job, pq.read_table(data)), prompts)
    return spec_file, prompts


def rayscore_prompts(job: dict[str, Any], rows: pa.Table) -> pa.Table:
    """id, item, prompt: the strings rayscore's checklist scorer sends, in its order."""
    from pipeline.plan import plan_of
    from pipeline.spec_loader import parse_spec
    from scorers.registry import judged_scorer

    scorer_spec = plan_of(parse_spec(job)).judged[0]
    prepared = judged_scorer(scorer_spec).prepare(rows)
    items = len(job["definition"]["scorers"][0]["checklist"])
    if len(prepared.prompts) != rows.num_rows * items:
        raise RuntimeError(f"{len(prepared.prompts)} prompts for {rows.num_rows} x {items}")
    ids = rows["id"].to_pylist()
    return pa.table(
        {
            "id": [ids[n // items] for n in range(len(prepared.prompts))],
            "item": [n % items for n in range(len(prepared.prompts))],
            PROMPT_COLUMN: prepared.prompts,
        }
    )


def yes_no_token_ids() -> list[list[int]]:
    """Every Yes token and every No token of the judge's vocabulary, as rayscore finds them."""
    from transformers import AutoTokenizer

    from bench.workload import MODEL
    from scorers.judge.labels import YES_NO, label_token_ids

    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    ids = label_token_ids(tokenizer.get_vocab(), lambda i: tokenizer.decode([i]), YES_NO)
    return [list(label) for label in ids]


def ids_digest(ids: Sequence[int]) -> str:
    return hashlib.sha1(json.dumps([int(i) for i in ids]).encode()).hexdigest()


# ---------------------------------------------------------------- rayscore


def run_rayscore(spec_file: Path, folder: Path, timeout_s: float) -> SideResult:
    """The job through rayscore's CLI, timed end to end; its manifest and scores read back."""
    from bench.rayscore_job import JobRun

    out = folder / "rayscore-out"
    command = [sys.executable, "-m", "jobs.cli", "run", str(spec_file)]
    seconds = timed_subprocess(command, folder / "rayscore.log", timeout_s)
    manifest = json.loads((out / "manifest.json").read_text())
    confidences = {
        (row["id"], row["index"]): row["confidence"]
        for row in JobRun(seconds, manifest, out).item_confidences().iter_rows(named=True)
    }
    timings = {k: float(v) for k, v in manifest["timings_s"].items()}
    timings["judge"] = timings["score"]  # the score pass: read, judge and write, streaming
    timings["prompt_tokens"] = manifest["judge"]["prompt_tokens"]
    timings["cached_prompt_tokens"] = manifest["judge"]["cached_prompt_tokens"]
    return SideResult(seconds, timings, confidences)


def timed_subprocess(command: list[str], log: Path, timeout_s: float) -> float:
    """Seconds the command took, from the parent's side; its output goes to `log`. Past
    `timeout_s` its whole process group (its local Ray cluster too) is ended."""
    start = time.perf_counter()
    with log.open("w") as sink:
        proc = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            end_group(proc)
            raise RuntimeError(f"{command[2:4]} ran past {timeout_s:g} s; log: {log}") from None
    seconds = time.perf_counter() - start
    if code != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-30:])
        raise RuntimeError(f"{command[2:4]} failed ({code}); log tail:\n{tail}")
    return seconds


def end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this script started, then SIGKILL if it lingers."""
    import signal

    for sig, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


# ---------------------------------------------------------------- ray.data.llm


def run_ray_data_llm(prompts: Path, folder: Path, args: argparse.Namespace) -> SideResult:
    """This module's `--side ray-data-llm` in a subprocess, timed end to end."""
    out = folder / "ray-data-llm-out"
    command = [
        sys.executable,
        "-m",
        "bench.vs_ray_data_llm",
        "--side",
        "ray-data-llm",
        "--prompts",
        str(prompts),
        "--out",
        str(out),
        "--rdl-batch-size",
        str(args.rdl_batch_size),
        "--rdl-max-concurrent-batches",
        str(args.rdl_max_concurrent_batches),
        "--rdl-block-rows",
        str(args.rdl_block_rows),
    ]
    seconds = timed_subprocess(command, folder / "ray-data-llm.log", args.timeout_s)
    timings = json.loads((out / "timings.json").read_text())
    table = pq.read_table(out / "confidences.parquet").to_pylist()
    confidences = {(r["id"], r["item"]): r["confidence"] for r in table}
    return SideResult(seconds, timings, confidences)


def ray_data_llm_side(
    prompts: Path, out: Path, batch_size: int, max_batches: int, block_rows: int
) -> None:
    """Run the ray.data.llm processor over the prompts file; write confidences and timings."""
    start = time.perf_counter()
    import ray

    labels = yes_no_token_ids()
    timings: dict[str, float] = {"imports": time.perf_counter() - start}
    mark = time.perf_counter()
    ray.init(address="local", include_dashboard=False, log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    timings["ray"] = time.perf_counter() - mark
    try:
        mark = time.perf_counter()
        processor = build_ray_data_llm(labels, batch_size, max_batches)
        timings["build_processor"] = time.perf_counter() - mark
        mark = time.perf_counter()
        judged = processor(prompt_blocks(prompts, block_rows)).materialize()
        timings["judge"] = time.perf_counter() - mark
        mark = time.perf_counter()
        rows = pa.Table.from_pylist(judged.take_all())
        out.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows, out / "confidences.parquet")
        stats = judged.stats()
        (out / "ray_data_stats.txt").write_text(stats)
        timings.update(operator_seconds(stats))
        timings["collect"] = time.perf_counter() - mark
    finally:
        ray.shutdown()
    timings["inside"] = time.perf_counter() - start
    (out / "timings.json").write_text(json.dumps(timings))


def operator_seconds(stats: str) -> dict[str, float]:
    """Each Ray Data operator's remote wall time summed over its tasks, from `Dataset.stats()`
    ("op:<name>"; the stages overlap, so these do not add up to the execution time)."""
    import re

    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
    seconds: dict[str, float] = {}
    name = ""
    for line in stats.splitlines():
        header = re.match(r"Operator \d+ (.+?): \d+ tasks executed", line)
        if header:
            name = header.group(1)
        wall = re.match(r"\* Remote wall time: .* ([\d.]+)(us|ms|s) total", line)
        if wall and name:
            seconds[f"op:{name}"] = float(wall.group(1)) * units[wall.group(2)]
            name = ""
    return seconds


def prompt_blocks(prompts: Path, block_rows: int) -> Any:
    """The prompts file as a dataset of `block_rows`-row blocks, so that the stages stream.

    Not read_parquet: its ListFiles task reserves a whole CPU, which the engine and the CPU
    stage actors leave no room for on a 2-CPU cluster, and one file is one block (every
    stage would then wait for the one before to finish it all).
    """
    import ray

    table = pq.read_table(prompts)
    slices = [table.slice(start, block_rows) for start in range(0, table.num_rows, block_rows)]
    return ray.data.from_arrow(slices)


def build_ray_data_llm(labels: list[list[int]], batch_size: int, max_batches: int) -> Any:
    """The vLLM processor: chat template -> tokenize -> engine, on one CPU actor."""
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    from bench.workload import MODEL

    config = vLLMEngineProcessorConfig(
        model_source=str(MODEL),
        engine_kwargs=judge_settings(),
        concurrency=1,
        batch_size=batch_size,
        max_concurrent_batches=max_batches,
        # Without a placement group the engine actor reserves num_gpus = tp * pp = 1.
        placement_group_config={"bundles": [BUNDLE]},
        runtime_env={"env_vars": engine_env()},
        chat_template_stage={"num_cpus": SMALL_CPU},
        tokenize_stage={"num_cpus": SMALL_CPU},
        detokenize_stage=False,
        log_engine_metrics=False,
    )
    flat = [t for label in labels for t in label]
    sampling = {"max_tokens": 1, "temperature": 0.0, "logprob_token_ids": flat, "detokenize": False}

    def preprocess(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "messages": [{"role": "user", "content": row[PROMPT_COLUMN]}],
            "sampling_params": sampling,
        }

    def postprocess(row: dict[str, Any]) -> dict[str, Any]:
        return read_confidence(row, labels)

    return build_processor(
        config,
        preprocess=preprocess,
        postprocess=postprocess,
        preprocess_map_kwargs={"num_cpus": SMALL_CPU},
        postprocess_map_kwargs={"num_cpus": SMALL_CPU},
    )


def read_confidence(row: dict[str, Any], labels: list[list[int]]) -> dict[str, Any]:
    """id, item, P(Yes) renormalised over Yes/No (rayscore's own formula), and the prompt's
    token count and digest."""
    from scorers.judge.result import result_from_token_logprobs

    steps = row.get("logprobs") or []
    logprob_of = {int(t): float(lp["logprob"]) for t, lp in (steps[0] if steps else {}).items()}
    ids = list(row.get("prompt_token_ids") or [])
    result = result_from_token_logprobs(logprob_of, labels, len(ids), 0, source="ray.data.llm")
    return {
        "id": row["id"],
        "item": int(row["item"]),
        "confidence": None if result.probs is None else result.probs[0],
        "error": result.error,
        "prompt_tokens": len(ids),
        "ids_sha1": ids_digest(ids),
    }


# ---------------------------------------------------------------- comparison


def agreement(a: SideResult, b: SideResult) -> dict[str, Any]:
    """Max abs difference of the confidences both sides gave, item by item."""
    keys = set(a.confidences) | set(b.confidences)
    both: list[tuple[float, float]] = []
    for key in keys:
        x, y = a.confidences.get(key), b.confidences.get(key)
        if x is not None and y is not None:
            both.append((x, y))
    diffs = [abs(x - y) for x, y in both]
    return {
        "judgments_compared": len(both),
        "judgments_missing_or_null": len(keys) - len(both),
        "confidence_max_abs_diff": max(diffs, default=float("nan")),
        "confidence_mean_abs_diff": sum(diffs) / len(diffs) if diffs else float("nan"),
        "answer_flips_at_0.6": sum((x >= 0.6) != (y >= 0.6) for x, y in both),
    }


def token_id_agreement(prompts: Path, ray_data_out: Path) -> dict[str, int]:
    """How many prompts ray.data.llm's engine saw as exactly the token ids rayscore sends."""
    from transformers import AutoTokenizer

    from bench.workload import MODEL
    from scorers.judge.prompt_tokens import encode_prompts

    table = pq.read_table(prompts)
    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    ours = encode_prompts(tokenizer, table[PROMPT_COLUMN].to_pylist(), True)
    mine = {
        (i, n): ids_digest(ids)
        for i, n, ids in zip(table["id"].to_pylist(), table["item"].to_pylist(), ours, strict=True)
    }
    theirs = pq.read_table(ray_data_out / "confidences.parquet").to_pylist()
    same = sum(mine.get((r["id"], r["item"])) == r["ids_sha1"] for r in theirs)
    return {"prompts_same_token_ids": same, "prompts": len(mine)}


def report(
    args: argparse.Namespace,
    rayscore: SideResult,
    ray_data: SideResult,
    extra: dict[str, Any],
) -> None:
    from bench.result import print_result

    judgments = args.samples * args.items
    value = ray_data.seconds / rayscore.seconds
    judge_ratio = ray_data.timings["judge"] / rayscore.timings["judge"]
    print_result(
        BENCH,
        value,
        TARGET,
        "higher",
        "x (ray.data.llm end-to-end s / rayscore end-to-end s; = throughput ratio)",
        peer={
            "name": "ray.data.llm vLLMEngineProcessorConfig + build_processor",
            "seconds": round(ray_data.seconds, 2),
            "judgments_per_s": round(judgments / ray_data.seconds, 1),
            "timings_s": {k: round(v, 2) for k, v in ray_data.timings.items()},
            "batch_size": args.rdl_batch_size,
            "max_concurrent_batches": args.rdl_max_concurrent_batches,
            "block_rows": args.rdl_block_rows,
            "placement_group_config": {"bundles": [BUNDLE]},
            "logprobs": "SamplingParams.logprob_token_ids (every Yes/No token)",
        },
        samples=args.samples,
        items=args.items,
        judgments=judgments,
        rayscore={
            "seconds": round(rayscore.seconds, 2),
            "judgments_per_s": round(judgments / rayscore.seconds, 1),
            "batch_size_samples": args.batch_size,
            "timings_s": {k: round(v, 2) for k, v in rayscore.timings.items()},
        },
        judge_stage_ratio=round(judge_ratio, 3),
        engine_kwargs=judge_settings(),
        engine_env=engine_env(),
        **agreement(rayscore, ray_data),
        **extra,
    )


def compare(args: argparse.Namespace) -> None:
    folder = Path(args.workdir or tempfile.mkdtemp(prefix="vs_ray_data_llm-"))
    if args.workdir and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec_file, prompts = write_inputs(folder, args.samples, args.items, args.batch_size)
    load = {"rayscore": os.getloadavg()[0]}  # the machine may be shared: say how busy
    rayscore = run_rayscore(spec_file, folder, args.timeout_s)
    load["ray_data_llm"] = os.getloadavg()[0]
    ray_data = run_ray_data_llm(prompts, folder, args)
    load["end"] = os.getloadavg()[0]
    tokens = token_id_agreement(prompts, folder / "ray-data-llm-out")
    report(args, rayscore, ray_data, {**tokens, "load_avg_1m_at_start_of": load})
    if not args.workdir:
        shutil.rmtree(folder, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64, help="rayscore judge.batch_size")
    parser.add_argument("--rdl-batch-size", type=int, default=64, help="ray.data.llm batch_size")
    parser.add_argument(
        "--rdl-max-concurrent-batches", type=int, default=8, help="ray.data.llm's default: 8"
    )
    parser.add_argument(
        "--rdl-block-rows", type=int, default=640, help="ray.data.llm input rows per block"
    )
    parser.add_argument("--timeout-s", type=float, default=3600, help="per side")
    parser.add_argument("--workdir", default=None, help="keep inputs, outputs and logs here")
    parser.add_argument("--side", choices=["compare", "ray-data-llm"], default="compare")
    parser.add_argument("--prompts", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.side == "ray-data-llm":
        ray_data_llm_side(
            Path(args.prompts),
            Path(args.out),
            args.rdl_batch_size,
            args.rdl_max_concurrent_batches,
            args.rdl_block_rows,
        )
    else:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        compare(args)


if __name__ == "__main__":
    main()
