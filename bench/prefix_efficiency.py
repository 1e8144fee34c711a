"""prefix_efficiency: prompt tokens the engine computed / the fewest it could, for 20-item
checklists over ~500-token responses, by KV block size and prefix padding.

The fewest: each sample's shared token prefix once plus each question's own tokens. The
computed figure is the engine's own count (prompt tokens minus the cached tokens vLLM reports
per request), summed by rayscore into the manifest. Each configuration is one real
`rayscore run` of the same data; the peer is the engine's default block (128 on CPU).
Padding's cost is read from the same runs: how far each item's confidence moved.

    .venv/bin/python -m bench.prefix_efficiency [--samples 200] [--items 20]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from bench.rayscore_job import JobRun, run_job
from bench.result import print_result
from bench.workload import MODEL, spec, write_rows
from pipeline.plan import plan_of
from pipeline.spec_loader import parse_spec
from scorers.registry import judged_scorer

TARGET = 1.15
CONFIGS: dict[str, dict[str, Any]] = {
    "block_128": {"engine_kwargs": {"block_size": 128}},
    "block_32": {"engine_kwargs": {"block_size": 32}},
    "block_32_padded": {"engine_kwargs": {"block_size": 32}, "judge": {"prefix_padding": True}},
}


def fewest_prompt_tokens(job_spec: dict[str, Any], data: Path) -> int:
    """Every distinct token prefix once: the nodes of the prompts' token trie. That is each
    sample's shared prefix once plus each question's own tokens, less what samples share (the
    template's opening)."""
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer

    from scorers.judge.prompt_tokens import encode_prompts

    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    scorer = judged_scorer(plan_of(parse_spec(job_spec)).judged[0])
    table = pq.read_table(data)
    ids = sorted(encode_prompts(tokenizer, scorer.prepare(table).prompts, True))
    return len(ids[0]) + sum(
        len(ids[n]) - _common_length(ids[n - 1], ids[n]) for n in range(1, len(ids))
    )


def _common_length(a: list[int], b: list[int]) -> int:
    for n, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return n
    return min(len(a), len(b))


def computed(run: JobRun) -> int:
    judge = run.manifest["judge"]
    return int(judge["prompt_tokens"]) - int(judge["cached_prompt_tokens"])


def confidence_shift(plain: JobRun, padded: JobRun) -> dict[str, float]:
    joined = plain.item_confidences().join(
        padded.item_confidences(), on=["id", "index"], suffix="_padded"
    )
    shift = (pl.col("confidence_padded") - pl.col("confidence")).abs()
    flipped = (pl.col("confidence") >= 0.5) != (pl.col("confidence_padded") >= 0.5)
    row = joined.select(
        shift.mean().alias("mean_abs"), shift.max().alias("max_abs"), flipped.mean().alias("flip")
    ).row(0, named=True)
    return {k: round(float(v), 5) for k, v in row.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--response-tokens", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_rows(work / "rows.parquet", args.samples, args.response_tokens)
        base = spec(data, work / "out", items=args.items)
        fewest = fewest_prompt_tokens(base, data)
        runs = {
            name: run_job(spec(data, work / name, items=args.items, **config), work, name)
            for name, config in CONFIGS.items()
        }
        ratios = {name: round(computed(run) / fewest, 4) for name, run in runs.items()}
        shift = confidence_shift(runs["block_32"], runs["block_32_padded"])
    print_result(
        "prefix_efficiency",
        ratios["block_32_padded"],
        TARGET,
        "lower",
        "computed prompt tokens / fewest",
        {"engine default block (128), no padding": ratios["block_128"]},
        block_size=32,
        prefix_padding=True,
        unpadded_block_32=ratios["block_32"],
        fewest_prompt_tokens=fewest,
        computed_prompt_tokens={name: computed(run) for name, run in runs.items()},
        judgments=runs["block_32"].requests,
        judge_s={name: round(run.judge_s, 2) for name, run in runs.items()},
        padding_confidence_shift=shift,
    )


if __name__ == "__main__":
    main()
