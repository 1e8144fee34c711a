"""Pipeline overhead: a whole rayscore job with an instant fake judge vs pyarrow copying the
same Parquet, same run. Prints one JSON line last.

rayscore side: `run_job` in-process on a local Ray cluster (all CPUs) over `--rows` rows
(id, prompt, short response; 8 Parquet files), one checklist scorer with `--items` items, so
rows x items judge requests. The judge is `InstantFakeJudge`, a FAKE engine: no model, it
returns the same fixed log-probs for every prompt at once. It reaches Ray's actor processes
through Ray's `worker_process_setup_hook` (rayscore's code is unchanged), and the run is
checked to have used it (manifest token counts, every item confidence equal to the fake's).
Everything else is the real job: judge stage and shard commits, assemble, score_records,
summary, commit. Ray's start is timed apart (excluded); the job's seconds are run_job's wall
time minus the manifest's `ray` stage.

Peer: pyarrow.parquet alone, one process: read the same input files, append a column the
same as rayscore's scores column (its values, read back before the clock starts), write one
Parquet file.

Figure: rayscore seconds / pyarrow seconds (target <= 3, lower is better). Also given: the
manifest's stage seconds, rows/s, bytes written, and rayscore's peak memory (PSS of the driver
and its Ray processes, absolute; machine-wide `used + shared` above the level with Ray up).

    .venv/bin/python -m bench.pipeline_overhead                 # 2,000,000 rows
    .venv/bin/python -m bench.pipeline_overhead --rows 100000   # quick
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.harness import PeakMemory, folder_bytes, load_average, start_ray, timed
from bench.result import print_result
from bench.workload import spec as workload_spec
from scorers.judge.labels import LabelSet
from scorers.judge.result import JudgeResult, result_from_logprobs

TARGET = 3.0
SCORER = "quality"  # workload.spec's checklist scorer key
FAKE_LOGPROBS = (-0.25, -1.5)  # per label: yes, no
FAKE_PROMPT_TOKENS = 7  # what the fake says each request cost; the manifest must sum these
FILES = 8


class InstantFakeJudge:
    """A FAKE judge engine, for measuring the pipeline around it: no model, no tokenizer;
    every prompt gets the same fixed log-probs, computed once per label count."""

    def __init__(self) -> None:
        self._results: dict[int, JudgeResult] = {}

    def judge(self, prompts: Sequence[str], label_set: LabelSet) -> list[JudgeResult]:
        n_labels = len(label_set.labels)
        result = self._results.get(n_labels)
        if result is None:
            logprobs = [[FAKE_LOGPROBS[i % len(FAKE_LOGPROBS)]] for i in range(n_labels)]
            result = result_from_logprobs(logprobs, prompt_tokens=FAKE_PROMPT_TOKENS)
            self._results[n_labels] = result
        return [result] * len(prompts)


def fake_yes_probability() -> float:
    yes, no = FAKE_LOGPROBS
    return math.exp(yes) / (math.exp(yes) + math.exp(no))


def build_fake_judge(spec: Any) -> InstantFakeJudge:
    return InstantFakeJudge()


def install_fake_judge() -> None:
    """Ray worker_process_setup_hook: every worker builds the fake instead of an engine."""
    import pipeline.stages.judge_actor
    import scorers.judge.build

    scorers.judge.build.build_judge = build_fake_judge
    pipeline.stages.judge_actor.build_judge = build_fake_judge  # type: ignore[attr-defined]


def demo_texts() -> tuple[pa.Array, pa.Array]:
    """The demo's prompts and its non-empty responses."""
    from jobs.demo.demo_data import demo_rows

    rows = [r for r in demo_rows() if r["response"]]
    return pa.array([r["prompt"] for r in rows]), pa.array([r["response"] for r in rows])


def input_chunk(start: int, rows: int, rng: np.random.Generator) -> pa.Table:
    """Rows start..start+rows: a demo prompt, a short response (a demo answer plus a
    numbered note, so responses are distinct), ids s00000000..."""
    prompts, responses = demo_texts()
    ids = pa.array([f"s{n:08d}" for n in range(start, start + rows)])
    prompt = prompts.take(rng.integers(len(prompts), size=rows))
    answer = responses.take(rng.integers(len(responses), size=rows))
    note = pc.binary_join_element_wise("(note", ids, ")", " ")
    return pa.table(
        {"id": ids, "prompt": prompt, "response": pc.binary_join_element_wise(answer, note, " ")}
    )


def write_input(folder: Path, rows: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    size = -(-rows // FILES)
    for f in range(FILES):
        start = f * size
        count = min(size, rows - start)
        if count > 0:
            pq.write_table(input_chunk(start, count, rng), folder / f"part-{f}.parquet")
    return folder


def job_spec(data: Path, out: Path, items: int, batch_size: int) -> Any:
    from pipeline.spec_loader import parse_spec

    return parse_spec(workload_spec(data, out, items=items, batch_size=batch_size))


def run_rayscore(spec: Any) -> tuple[dict[str, Any], float]:
    """The whole job, in-process on the running Ray; (manifest, seconds without Ray start)."""
    from pipeline.runner import run_job

    result, seconds = timed(lambda: run_job(spec))
    manifest: dict[str, Any] = result.manifest
    return manifest, seconds - manifest["timings_s"]["ray"]


def scores_column(out: Path) -> pa.ChunkedArray:
    column: pa.ChunkedArray = pq.read_table(out / "scores", columns=[SCORER])[SCORER]
    return column


def check_fake_was_used(manifest: dict[str, Any], scores: pa.ChunkedArray, rows: int) -> int:
    """Judgments made; raises unless every one came from InstantFakeJudge."""
    judge = manifest["judge"]
    requests = int(judge["requests"])
    items = pc.list_flatten(pc.struct_field(scores.combine_chunks(), "item_scores"))
    confidence = pc.min_max(pc.struct_field(items, "confidence")).as_py()
    expected = round(fake_yes_probability(), 12)
    problems = [
        f"{name}: {got} != {want}"
        for name, got, want in (
            ("rows out", manifest["rows"]["out"], rows),
            ("errored rows", manifest["rows"]["errored"], 0),
            ("prompt tokens", judge["prompt_tokens"], FAKE_PROMPT_TOKENS * requests),
            ("item results", len(items), requests),
            ("min confidence", round(confidence["min"], 12), expected),
            ("max confidence", round(confidence["max"], 12), expected),
        )
        if got != want
    ]
    if problems:
        raise RuntimeError("the fake judge was not used everywhere: " + "; ".join(problems))
    return requests


def pyarrow_copy(data: Path, scores: pa.ChunkedArray, out: Path) -> float:
    """pyarrow alone: read the input, append the scores column, write one file; seconds."""

    def copy() -> None:
        table = pq.read_table(data)
        pq.write_table(table.append_column(SCORER, scores), out)

    return timed(copy)[1]


def stage_times(manifest: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in manifest["timings_s"].items() if v >= 0.0005 or k == "ray"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--items", type=int, default=2, help="checklist items per row")
    parser.add_argument("--batch-size", type=int, default=64, help="judge.batch_size")
    args = parser.parse_args()
    import ray

    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_input(Path(tmp, "input"), args.rows)
        out = Path(tmp, "run")
        spec = job_spec(data, out, args.items, args.batch_size)
        ray_start_s = start_ray(install_fake_judge)
        with PeakMemory() as memory:
            manifest, rayscore_s = run_rayscore(spec)
        ray.shutdown()
        scores = scores_column(out)
        judgments = check_fake_was_used(manifest, scores, args.rows)
        written = {name: folder_bytes(out / name) for name in ("scores", "scores_long")}
        peer_s = pyarrow_copy(data, scores, Path(tmp, "copy.parquet"))
        input_bytes = folder_bytes(data)
        peer_bytes = folder_bytes(Path(tmp, "copy.parquet"))
    print_result(
        "pipeline_overhead",
        rayscore_s / peer_s,
        TARGET,
        "lower",
        "rayscore seconds / pyarrow seconds",
        {
            "name": "pyarrow read + write, one process",
            "seconds": round(peer_s, 2),
            "bytes_written": peer_bytes,
        },
        rows=args.rows,
        checklist_items=args.items,
        judgments=judgments,
        judge="InstantFakeJudge (fake engine: fixed log-probs, no model)",
        judge_batch_size=args.batch_size,
        rayscore_seconds=round(rayscore_s, 2),
        ray_start_seconds_excluded=round(ray_start_s, 2),
        rows_per_s=round(args.rows / rayscore_s),
        peer_rows_per_s=round(args.rows / peer_s),
        stage_seconds=stage_times(manifest),
        input_bytes=input_bytes,
        rayscore_bytes_written=written,
        peak_memory_gib=memory.tree_pss_gib,
        peak_memory_machine_wide_gib=memory.above(),
        load_average_before_after=[load_before, load_average()],
    )


if __name__ == "__main__":
    main()
