"""rayscore vs autochecklist 0.2.3: item-mode log-prob checklist scoring, end to end.

The peer is autochecklist's `ChecklistScorer(mode="item", use_logprobs=True,
primary_metric="normalized")` on its vLLM offline client (`VLLMOfflineClient`), the library
behind the checklist-scorers seed. Both sides run the same small local judge
(bench.workload.MODEL) on the same samples and questions, each in its own subprocess, so each
pays its whole start-up (Python imports, Ray for rayscore, engine load); the value is
autochecklist's wall seconds over rayscore's (higher is better, target 3x).

autochecklist is given its best case, on a small documented shim (`ShimmedClient`):
- vLLM 0.32 removed `SamplingParams(guided_decoding=...)`, which the client always passes
  (as None on the log-prob path); the shim drops it.
- the client asks for up to 512 generated tokens per log-prob call although it reads only the
  first; the shim makes that 1 token (same answer, far less work).
- the engine gets rayscore's engine settings and environment (prefix caching on, seed 0,
  dtype float32, max_model_len 2048, eager, block size 32, in-process engine core, 1 GiB KV).
- the prompt is rayscore's item template passed as `custom_prompt`, so both engines see the
  same token ids (the run checks the prompt tokens sample by sample); `--ac-prompt own` uses the
  library's own item template instead.
Its scoring code is otherwise untouched: one `llm.generate` call per item, sequentially, the
answer read from the top-5 log-probs of the first generated token.

It also compares the confidences item by item: rayscore's exact P(Yes)/(P(Yes)+P(No)) over
every spelling of each label vs autochecklist's top-5 reading. Prints one JSON line last.

    .venv/bin/python -m bench.vs_autochecklist [--samples 500] [--items 20] [--warm]

With `--warm`, rayscore runs on a judge made warm first (`rayscore judges up` on a Ray head
started here, its engine start not counted): what a user iterating on a checklist waits per
try. The peer still pays its whole process, as it would on every try.

Needs autochecklist (the `bench` extra): `pip install --no-deps autochecklist==0.2.3
tenacity` (its other dependencies are already rayscore's).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bench.ray_head import ray_head, warm_up
from bench.rayscore_job import JobRun, run_job
from bench.result import print_result
from bench.workload import ENGINE_KWARGS, MODEL, ROOT, questions, spec, write_rows

BENCH = "vs_autochecklist"
TARGET = 3.0
AC_VERSION = "0.2.3"
AC_TOP_LOGPROBS = 5  # what VLLMOfflineClient.get_logprobs asks for
AC_MAX_TOKENS = 512  # what VLLMOfflineClient.get_logprobs asks for; the shim makes it 1
SHIM = (
    "VLLMOfflineClient subclass: drops SamplingParams(guided_decoding=None), gone in vLLM "
    "0.32; clamps log-prob calls from max_tokens=512 to 1 (the library reads only the first "
    "token); rayscore's engine kwargs and env (enable_prefix_caching=True, seed 0, ...); "
    "records each call's top-5 and token counts for the comparison. Scoring path unchanged: "
    "ChecklistScorer.score_batch, one llm.generate per item, sequential."
)

Item = tuple[str, int]  # (sample id, question index)


# ── autochecklist side (runs in its own subprocess: `--worker-out`) ────────────────────────


def engine_settings() -> tuple[dict[str, str], dict[str, Any]]:
    """rayscore's judge environment and engine kwargs, as its VllmJudge applies them."""
    from scorers.judge.device_defaults import engine_defaults
    from scorers.judge.vllm_judge import ENGINE_KWARG_DEFAULTS

    device = engine_defaults()
    return dict(device.env), {**ENGINE_KWARG_DEFAULTS, **device.engine_kwargs, **ENGINE_KWARGS}


def compatible_sampling_params(**kwargs: Any) -> Any:
    """`vllm.SamplingParams` accepting the pre-0.10 `guided_decoding` keyword when it is None.

    vLLM 0.32 renamed it `structured_outputs`; autochecklist passes `guided_decoding=None` on
    every call, and a real value only for JSON answers, which the log-prob path never asks for.
    """
    from vllm import SamplingParams

    if kwargs.pop("guided_decoding", None) is not None:
        raise NotImplementedError("guided decoding is not shimmed (not used on the log-prob path)")
    return SamplingParams(**kwargs)


def shimmed_client_class() -> type:
    """autochecklist's VLLMOfflineClient made to run on vLLM 0.32, in its best case."""
    from autochecklist import VLLMOfflineClient  # type: ignore[import-untyped]

    class ShimmedClient(VLLMOfflineClient):  # type: ignore[misc]
        """The library's client with the three changes in the module docstring, plus a record
        of each log-prob call (its top-5 tokens, label probabilities and token counts)."""

        def __init__(self, model: str, engine_kwargs: dict[str, Any]) -> None:
            super().__init__(model=model, **engine_kwargs)
            self._SamplingParams = compatible_sampling_params
            self.calls: list[dict[str, Any]] = []
            self._last: dict[str, Any] = {}
            self._engine_generate = self._llm.generate
            self._llm.generate = self._counting_generate

        def _counting_generate(self, *args: Any, **kwargs: Any) -> Any:
            outputs = self._engine_generate(*args, **kwargs)
            self._last["cached_tokens"] = sum(int(o.num_cached_tokens or 0) for o in outputs)
            return outputs

        def chat_completion(
            self,
            model: str,
            messages: list[dict[str, str]],
            temperature: float = 0.7,
            max_tokens: int = 2048,
            **kwargs: Any,
        ) -> dict[str, Any]:
            if kwargs.get("logprobs"):
                max_tokens = 1  # get_logprobs reads only the first generated token
            response: dict[str, Any] = super().chat_completion(
                model, messages, temperature=temperature, max_tokens=max_tokens, **kwargs
            )
            content = (response["choices"][0].get("logprobs") or {}).get("content") or [{}]
            self._last.update(
                top=[[t["token"], t["logprob"]] for t in content[0].get("top_logprobs", [])],
                prompt_tokens=response["usage"]["prompt_tokens"],
                generated_tokens=response["usage"]["completion_tokens"],
            )
            return response

        def get_logprobs(self, model: str, messages: list[dict[str, str]], **kw: Any) -> Any:
            probs = super().get_logprobs(model, messages, **kw)
            self.calls.append({**self._last, "p_yes": probs["yes"], "p_no": probs["no"]})
            self._last = {}
            return probs

    return ShimmedClient


def ac_template(choice: str) -> str | None:
    """The item prompt autochecklist gets: rayscore's (as custom_prompt) or its own (None)."""
    if choice == "own":
        return None
    from scorers.checklist.prompt import default_item_template

    return default_item_template()


def run_autochecklist(data: Path, items: int, out: Path, prompt: str) -> None:
    """Score `data` with autochecklist and write its per-item answers and timings to `out`."""
    start = time.perf_counter()
    env, engine_kwargs = engine_settings()
    for key, value in env.items():
        os.environ.setdefault(key, value)
    from autochecklist import Checklist, ChecklistItem, ChecklistScorer

    client = shimmed_client_class()(str(MODEL), engine_kwargs)
    loaded = time.perf_counter()
    scorer = ChecklistScorer(
        mode="item",
        use_logprobs=True,
        primary_metric="normalized",
        custom_prompt=ac_template(prompt),
        model=str(MODEL),
        client=client,
    )
    checklist = Checklist(
        items=[ChecklistItem(id=str(n), question=q) for n, q in enumerate(questions(items))],
        source_method="rayscore-bench",
        generation_level="corpus",
    )
    table = pq.read_table(data).to_pydict()
    scores = scorer.score_batch(checklist, table["response"], table["prompt"])
    done = time.perf_counter()
    records = ac_records(table["id"], scores, client.calls)
    out.write_text(
        json.dumps(
            {
                "engine_load_s": round(loaded - start, 2),
                "scoring_s": round(done - loaded, 2),
                "prompt_template": scorer.prompt_text,
                "items": records,
            }
        )
    )


def ac_records(
    ids: Sequence[str], scores: Sequence[Any], calls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One record per (sample, item): the library's confidence and answer, plus its call."""
    records: list[dict[str, Any]] = []
    for sample_id, score in zip(ids, scores, strict=True):
        for item in score.item_scores:
            records.append(
                {
                    "id": sample_id,
                    "index": int(item.item_id),
                    "confidence": item.confidence,
                    "answer": item.answer.value,
                    **calls[len(records)],
                }
            )
    if len(records) != len(calls):
        raise RuntimeError(f"{len(calls)} log-prob calls for {len(records)} items")
    return records


# ── rayscore side ─────────────────────────────────────────────────────────────────────────


def timed(command: list[str], log: Path) -> float:
    """Run `command` from the repo root with output to `log`; its wall seconds."""
    start = time.perf_counter()
    with log.open("w") as sink:
        code = subprocess.call(command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
    seconds = time.perf_counter() - start
    if code != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise SystemExit(f"{' '.join(command)} exited {code}; last output:\n{tail}")
    return seconds


def rayscore_items(out: Path) -> tuple[dict[Item, tuple[float, str]], dict[str, int]]:
    """From a rayscore run's scores/: (id, question index) -> (confidence, answer), and each
    row's judge prompt tokens."""
    table = pq.read_table(out / "scores", columns=["id", "quality"]).to_pylist()
    found: dict[Item, tuple[float, str]] = {}
    tokens: dict[str, int] = {}
    for row in table:
        quality = row["quality"] or {}
        tokens[row["id"]] = (quality.get("usage") or {}).get("prompt_tokens") or 0
        for item in quality.get("item_scores") or []:
            found[(row["id"], item["index"])] = (item["confidence"], item["answer"])
    return found, tokens


def prompt_token_check(rayscore_tokens: dict[str, int], ac: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether both engines read prompts of the same length, sample by sample."""
    theirs: dict[str, int] = {}
    for record in ac:
        theirs[record["id"]] = theirs.get(record["id"], 0) + record["prompt_tokens"]
    differ = [i for i in theirs if theirs[i] != rayscore_tokens.get(i)]
    return {
        "samples_with_equal_prompt_tokens": len(theirs) - len(differ),
        "samples_with_different_prompt_tokens": len(differ),
    }


def rayscore_summary(manifest: dict[str, Any]) -> dict[str, Any]:
    judge = manifest["judge"]
    return {
        "requests": judge["requests"],
        "prompt_tokens": judge["prompt_tokens"],
        "cached_prompt_tokens": judge["cached_prompt_tokens"],
        "generated_tokens": judge["generated_tokens"],
        "timings_s": {k: manifest["timings_s"][k] for k in ("wall", "ray", "score")},
    }


# ── comparison ────────────────────────────────────────────────────────────────────────────


def significant(x: float) -> float:
    """Three significant digits: differences here span many orders of magnitude."""
    return float(f"{x:.3g}")


def share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def compare(exact: dict[Item, tuple[float, str]], ac: list[dict[str, Any]]) -> dict[str, Any]:
    """How far autochecklist's top-5 confidences are from rayscore's exact ones, per item."""
    pairs = [(exact[(r["id"], r["index"])], r) for r in ac if (r["id"], r["index"]) in exact]
    diffs = [abs(e[0] - r["confidence"]) for e, r in pairs]
    flips = [(e[0] >= 0.5) != (r["confidence"] >= 0.5) for e, r in pairs]
    twice = [max(label_hits(r["top"]).values()) > 1 for _, r in pairs]
    flips_by_twice = {t: [f for f, w in zip(flips, twice, strict=True) if w == t] for t in (1, 0)}
    return {
        "items_compared": len(pairs),
        "items_missing_in_rayscore": len(ac) - len(pairs),
        "mean_abs_diff": significant(statistics.fmean(diffs)) if diffs else None,
        "median_abs_diff": significant(statistics.median(diffs)) if diffs else None,
        "max_abs_diff": significant(max(diffs)) if diffs else None,
        "share_abs_diff_over_0.1": share([d > 0.1 for d in diffs]),
        "share_answer_differs_at_0.5": share(flips),
        "share_library_answer_differs": share([e[1] != r["answer"] for e, r in pairs]),
        "share_no_label_in_top5": share([r["p_yes"] == 0 and r["p_no"] == 0 for _, r in pairs]),
        "share_one_label_only_in_top5": share(
            [(r["p_yes"] == 0) != (r["p_no"] == 0) for _, r in pairs]
        ),
        "share_label_spelled_twice_in_top5": share(twice),
        "share_answer_differs_when_spelled_twice": share(flips_by_twice[1]),
        "share_answer_differs_otherwise": share(flips_by_twice[0]),
    }


def label_hits(top: list[list[Any]]) -> dict[str, int]:
    """How many of the top-5 tokens the library's reading maps to each label."""
    keys = [str(token).lower().strip() for token, _ in top]
    return {label: keys.count(label) for label in ("yes", "no")}


# ── the run ───────────────────────────────────────────────────────────────────────────────


def run_peer(data: Path, items: int, tmp: Path, prompt: str) -> tuple[float, dict[str, Any]]:
    out = tmp / "autochecklist.json"
    command = [sys.executable, "-m", "bench.vs_autochecklist", "--items", str(items)]
    command += ["--ac-prompt", prompt, "--worker-data", str(data), "--worker-out", str(out)]
    seconds = timed(command, tmp / "autochecklist.log")
    return seconds, json.loads(out.read_text())


def peer_summary(result: dict[str, Any], prompt: str) -> dict[str, Any]:
    items = result["items"]
    return {
        "library": f"autochecklist {AC_VERSION}",
        "scorer": 'ChecklistScorer(mode="item", use_logprobs=True, primary_metric="normalized")',
        "client": "VLLMOfflineClient (shimmed)",
        "settings": {
            "max_tokens": 1,
            "library_max_tokens": AC_MAX_TOKENS,
            "top_logprobs": AC_TOP_LOGPROBS,
            "enable_prefix_caching": True,
            "engine_kwargs": engine_settings()[1],
            "calls": "one llm.generate per item, sequential (the library's scoring loop)",
        },
        "shim": SHIM,
        "prompt": (
            "rayscore's item template passed as custom_prompt, in the model's chat template"
            if prompt == "rayscore"
            else "autochecklist's own item template (prompts/scoring/item.md), chat template"
        ),
        "requests": len(items),
        "prompt_tokens": sum(r["prompt_tokens"] for r in items),
        "cached_prompt_tokens": sum(r["cached_tokens"] for r in items),
        "generated_tokens": sum(r["generated_tokens"] for r in items),
        "timings_s": {"engine_load": result["engine_load_s"], "scoring": result["scoring_s"]},
    }


def run_rayscore(job_spec: dict[str, Any], tmp: Path, warm: bool) -> tuple[JobRun, dict[str, Any]]:
    """rayscore's run, cold (its own Ray and engine) or on a warm judge of a head of its
    own (stopped before the peer runs, so the two never share the CPUs)."""
    if not warm:
        return run_job(job_spec, tmp, "rayscore-run"), {}
    with ray_head() as env:
        up_s = warm_up(job_spec, tmp, env)
        job = run_job(job_spec, tmp, "rayscore-run", env=env)
    actors = job.manifest["judge"].get("warm")
    if not actors:
        raise SystemExit("the run did not use the warm judge (manifest judge.warm empty)")
    return job, {"warm": {"judges_up_s_not_counted": round(up_s, 2), "actors": actors}}


def benchmark(samples: int, items: int, response_tokens: int, prompt: str, warm: bool) -> None:
    judgments = samples * items
    with tempfile.TemporaryDirectory(prefix="vs_autochecklist-") as name:
        tmp = Path(name)
        data = write_rows(tmp / "data.parquet", samples, response_tokens)
        job_spec = spec(data, tmp / "rayscore-run", items=items)
        # autochecklist reads every answer; so does rayscore here (no label-mass floor), so
        # the same judgments are compared
        job_spec["judge"]["min_label_mass"] = 0
        job, warm_details = run_rayscore(job_spec, tmp, warm)
        ours = job.wall_s
        peer_s, peer = run_peer(data, items, tmp, prompt)
        exact, row_tokens = rayscore_items(job.out)
        ours_summary = rayscore_summary(job.manifest)
    theirs = peer_summary(peer, prompt)
    print_result(
        BENCH,
        peer_s / ours,
        TARGET,
        "higher",
        "x (autochecklist wall s / rayscore wall s" + (" on a warm judge)" if warm else ")"),
        {**theirs, "wall_s": round(peer_s, 2), "judgments_per_s": rate(judgments, peer_s)},
        samples=samples,
        items_per_sample=items,
        response_tokens=response_tokens,
        judgments=judgments,
        rayscore={
            **ours_summary,
            "wall_s": round(ours, 2),
            "judgments_per_s": rate(judgments, ours),
            **warm_details,
        },
        prompt_tokens_check=prompt_token_check(row_tokens, peer["items"]),
        confidence_vs_exact=compare(exact, peer["items"]),
        note="both wall times are end to end in their own subprocess, start-up included",
    )


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--response-tokens", type=int, default=500)
    parser.add_argument("--ac-prompt", choices=("rayscore", "own"), default="rayscore")
    parser.add_argument(
        "--warm", action="store_true", help="rayscore on a warm judge (rayscore judges up first)"
    )
    parser.add_argument("--worker-data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker_out:
        run_autochecklist(args.worker_data, args.items, args.worker_out, args.ac_prompt)
        return
    benchmark(args.samples, args.items, args.response_tokens, args.ac_prompt, args.warm)


if __name__ == "__main__":
    main()
