"""Judge throughput: shared-prefix prompt layout vs question-first layout, same engine, same run.

Each sample has a long response and many checklist questions ("score 20+ dimensions"). With the
sample's text first, vLLM's prefix cache computes it once per sample; with the question first,
every request recomputes it. Prints one JSON line.

    .venv/bin/python bench/prefix_cache.py [--samples 32] [--questions 12]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time

from jobs.demo.tiny_model import build_tiny_model
from scorers.checklist.prompt import default_item_template, item_prompts
from scorers.judge.labels import YES_NO
from scorers.judge.vllm_judge import VllmJudge

QUESTION_FIRST = (
    "Question: {question}\nAnswer with Yes or No about this response.\n\n"
    "<request>\n{input}\n</request>\n\n<response>\n{target}\n</response>\n"
)
WORDS = [
    "the",
    "capital",
    "of",
    "france",
    "is",
    "paris",
    "and",
    "the",
    "answer",
    "is",
    "correct",
    "because",
    "water",
    "boils",
]


def workload(samples: int, questions: int, seed: int = 0) -> list[tuple[str, str, list[str]]]:
    rng = random.Random(seed)
    qs = [
        f"Does the response satisfy criterion {i}: {rng.choice(WORDS)}?" for i in range(questions)
    ]
    return [
        (f"Request {n}: explain {rng.choice(WORDS)}.", " ".join(rng.choices(WORDS, k=450)), qs)
        for n in range(samples)
    ]


def run(
    judge: VllmJudge, template: str, samples: list[tuple[str, str, list[str]]]
) -> dict[str, float]:
    prompts = [p for inp, tgt, qs in samples for p in item_prompts(template, inp, tgt, qs)]
    start = time.perf_counter()
    results = judge.judge(prompts, YES_NO)
    seconds = time.perf_counter() - start
    prompt_tokens = sum(r.prompt_tokens for r in results)
    cached = sum(r.cached_tokens for r in results)
    return {
        "seconds": round(seconds, 3),
        "requests_per_s": round(len(prompts) / seconds, 1),
        "prompt_tokens": prompt_tokens,
        "computed_prompt_tokens": prompt_tokens - cached,
        "errors": sum(r.error is not None for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--questions", type=int, default=12)
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(os.path.join(tmp, "tiny-judge"))
        judge = VllmJudge(
            str(model), {"dtype": "float32", "max_model_len": 2048, "enforce_eager": True}
        )
        judge.judge(["warm up"], YES_NO)
        shared = run(judge, default_item_template(), workload(args.samples, args.questions, 1))
        naive = run(judge, QUESTION_FIRST, workload(args.samples, args.questions, 2))
    print(
        json.dumps(
            {
                "bench": "prefix_cache",
                "samples": args.samples,
                "questions_per_sample": args.questions,
                "shared_prefix_first": shared,
                "question_first": naive,
                "speedup": round(naive["seconds"] / shared["seconds"], 2),
                "computed_token_ratio": round(
                    naive["computed_prompt_tokens"] / max(shared["computed_prompt_tokens"], 1), 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
