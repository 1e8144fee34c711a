"""The benchmarks' shared workload: samples with long responses, each judged on a 20-item
checklist by the small local judge (`make model`), as a Parquet file and a rayscore spec.

Responses are demo answers strung together to about `response_tokens` tokens of the judge's
tokenizer; questions are the demo checklist's four plus numbered variants, so every sample has
one long shared prefix and twenty short question suffixes.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from jobs.demo.checklist_task import QUESTIONS
from jobs.demo.demo_data import demo_rows

ROOT = Path(__file__).resolve().parents[1]
# bench/gpu_run.sh points these at a real judge on a GPU; the defaults are the small local
# judge (`make model`) with the CPU engine settings.
MODEL = Path(os.environ.get("RAYSCORE_BENCH_MODEL", ROOT / "models" / "tiny-judge"))
ENGINE_KWARGS: dict[str, Any] = json.loads(
    os.environ.get(
        "RAYSCORE_BENCH_ENGINE_KWARGS",
        '{"dtype": "float32", "max_model_len": 2048, "enforce_eager": true, "block_size": 32}',
    )
)
NUM_GPUS = float(os.environ.get("RAYSCORE_BENCH_NUM_GPUS", "0"))
# Openings vary the way a real checklist's do, so questions share few leading tokens.
EXTRA_QUESTIONS = [
    "Does the response mention the capital?",
    "Is the sum in the response correct?",
    "Are the steps given in a sensible order?",
    "Would a beginner understand the response?",
    "Can the answer be checked against a source?",
    "Has the response avoided repeating itself?",
    "Should the response have asked a clarifying question?",
    "Was the tone polite throughout?",
    "Do all numbers in the response add up?",
    "Every claim in the response is supported: true?",
    "Any unsafe advice in the response?",
    "Lists, if any, are formatted consistently?",
    "Names of places are spelled correctly?",
    "Given the request, is the length appropriate?",
    "Quoted code, if any, would run as written?",
    "Overall, would you accept this response?",
]


def questions(count: int = 20) -> list[str]:
    """The demo's questions first, then other yes/no checks (up to 20)."""
    return ([q.question for q in QUESTIONS] + EXTRA_QUESTIONS)[:count]


def rows(samples: int, response_tokens: int = 500, seed: int = 0) -> pa.Table:
    """`samples` rows: id, prompt, response (about `response_tokens` tokens)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    demo = [r for r in demo_rows() if r["response"]]
    sentences = sorted({r["response"] for r in demo})
    tokens_per = {s: len(tokenizer.encode(" " + s, add_special_tokens=False)) for s in sentences}
    rng = random.Random(seed)
    ids, prompts, responses = [], [], []
    for n in range(samples):
        row = rng.choice(demo)
        parts, size = [], 0
        while size < response_tokens:
            sentence = rng.choice(sentences)
            parts.append(sentence)
            size += tokens_per[sentence]
        ids.append(f"s{n:07d}")
        prompts.append(row["prompt"])
        responses.append(" ".join(parts))
    return pa.table({"id": ids, "prompt": prompts, "response": responses})


def write_rows(path: Path, samples: int, response_tokens: int = 500, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows(samples, response_tokens, seed), path)
    return path


def spec(
    data: Path,
    out: Path,
    items: int = 20,
    mode: str = "item",
    batch_size: int = 64,
    engine_kwargs: dict[str, Any] | None = None,
    judge: dict[str, Any] | None = None,
    scorer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A rayscore job spec: one checklist scorer over `items` questions, one judge actor;
    `scorer` adds or replaces fields of the checklist scorer."""
    return {
        "name": "bench",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(out)},
        "judge": {
            "model": str(MODEL),
            "engine_kwargs": {**ENGINE_KWARGS, **(engine_kwargs or {})},
            "concurrency": 1,
            "num_gpus": NUM_GPUS,
            "batch_size": batch_size,
            **(judge or {}),
        },
        "definition": {
            "scorers": [
                {
                    "type": "checklist",
                    "key": "quality",
                    "mode": mode,
                    "primary_metric": "normalized",
                    "input_column": "prompt",
                    "target_column": "response",
                    "checklist": [{"question": q, "weight": 1.0} for q in questions(items)],
                    **(scorer or {}),
                }
            ]
        },
    }
