"""What a job asks of each judge, forecast from a sample of its rows without an engine:
requests per row, prompt tokens, the share the prefix cache serves, rows over the context,
scaled to the whole input (rows from the Parquet metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.forecast.changes import Change, cache_changes, context_change
from pipeline.forecast.judge_tokens import Tokenization, device_of, tokenization_of
from pipeline.forecast.sample_tokens import SampleTokens, sample_tokens
from pipeline.plan import Plan
from scorers.judge.spec import JudgeSpec
from scorers.judge.vllm_spec import VllmJudgeSpec
from scorers.scorer_spec import ScorerSpec

EXAMPLE_IDS = 5  # ids of rows over the context, named in the forecast


@dataclass(frozen=True)
class JudgeForecast:
    name: str
    judge: VllmJudgeSpec
    scorers: tuple[ScorerSpec, ...]
    tokenization: Tokenization
    rows: pa.Table  # the sampled rows
    sample: SampleTokens  # their requests
    scale: float  # input rows per sampled row
    id_column: str

    def changes(self) -> list[Change]:
        def tokens_with(tokenization: Tokenization) -> SampleTokens:
            return sample_tokens(self.scorers, self.rows, tokenization, self.judge.batch_size)

        device = device_of(self.judge)
        return [
            *context_change(self.name, self.tokenization, self.sample),
            *cache_changes(self.name, device, self.tokenization, self.sample, tokens_with),
        ]

    def figures(self, judgments: int) -> dict[str, Any]:
        """`judgments`: the judge's requests for the whole input (corpus_requests)."""
        sample, tokenization = self.sample, self.tokenization
        per_row = sample.prompt_tokens_per_row
        computed = sample.computed_tokens(tokenization.block_size)
        over = sample.longest_prompt_per_row >= tokenization.max_model_len
        return {
            "model": self.judge.model,
            "scorers": [s.key for s in self.scorers],
            "actors": self.judge.concurrency,
            "device": device_of(self.judge),
            "requests_per_row": _spread(sample.requests_per_row),
            "judgments": judgments,
            "prompt_tokens_per_row": _spread(per_row),
            "prompt_tokens": round(sample.prompt_tokens * self.scale),
            "block_size": tokenization.block_size,
            "prefix_padding": tokenization.prefix_padding,
            "prefix_cache_share": 1 - computed / sample.prompt_tokens
            if sample.prompt_tokens
            else None,
            "computed_prompt_tokens": round(computed * self.scale),
            "max_model_len": tokenization.max_model_len,
            "rows_over_context": {
                "sampled": int(over.sum()),
                "predicted": round(int(over.sum()) * self.scale),
                "examples": self.rows[self.id_column]
                .filter(pa.array(over))
                .to_pylist()[:EXAMPLE_IDS],
            },
        }


def judge_forecasts(plan: Plan, table: pa.Table, input_rows: int) -> list[JudgeForecast]:
    """One forecast per judge the job uses, from `table` (the sampled rows)."""
    forecasts = []
    for name, scorers in plan.judge_groups.items():
        judge = _vllm(name, plan.judges[name])
        tokenization = tokenization_of(judge)
        forecasts.append(
            JudgeForecast(
                name=name,
                judge=judge,
                scorers=scorers,
                tokenization=tokenization,
                rows=table,
                sample=sample_tokens(scorers, table, tokenization, judge.batch_size),
                scale=input_rows / table.num_rows,
                id_column=plan.spec.input.id_column,
            )
        )
    return forecasts


def _vllm(name: str, judge: JudgeSpec) -> VllmJudgeSpec:
    if not isinstance(judge, VllmJudgeSpec):
        raise ValueError(
            f"judge {name!r}: rayscore plan forecasts judges with backend 'vllm' (an engine "
            f"it can count tokens for); this one is {judge.backend!r}"
        )
    return judge


def _spread(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0}
    p50, p95 = np.percentile(values, [50, 95])
    return {
        "mean": round(float(values.mean()), 2),
        "p50": float(p50),
        "p95": float(p95),
        "max": float(values.max()),
    }
