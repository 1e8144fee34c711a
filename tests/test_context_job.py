"""Whole jobs on real Ray and the real engine (max_model_len 1024): a sample longer than the
context is scored by the scorer with `truncate` and left unscored by the one without, and the
manifest counts both per scorer; an engine whose KV cache cannot hold max_model_len stops the
job with one line naming the key and a length that fits."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import NO_LABEL_FLOOR

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec
from scorers.judge.engine_fit import EngineDoesNotFit

pytestmark = [pytest.mark.ray, pytest.mark.engine]

ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "block_size": 32}
LONG = " ".join(f"point {i} holds." for i in range(300))  # well over 1024 tokens
CHECKLIST = [{"question": "Is it right?"}, {"question": "Is it short?"}]


def scorer(key: str, **extra: object) -> dict[str, object]:
    return {
        "type": "checklist",
        "key": key,
        "input_column": "prompt",
        "target_column": "response",
        "checklist": CHECKLIST,
        **extra,
    }


def test_the_manifest_counts_truncated_rows_and_rows_unscored_for_length(
    tmp_path: Path, ray_cluster: None, tiny_model: Path
) -> None:
    data = tmp_path / "long.parquet"
    responses = [LONG, "Ok.", "Fine."]
    pq.write_table(
        pa.table({"id": ["a", "b", "c"], "prompt": ["Say it."] * 3, "response": responses}), data
    )
    cut = {"column": "response", "max_tokens": 300, "side": "middle"}
    spec = {
        "name": "context",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(tmp_path / "run")},
        "judge": {"model": str(tiny_model), "engine_kwargs": ENGINE, **NO_LABEL_FLOOR},
        "definition": {"scorers": [scorer("cut", truncate=cut), scorer("whole")]},
    }
    result = run_job(parse_spec(spec))
    context = result.manifest["context"]
    scores = pl.read_parquet(f"{result.run_dir}/scores/*.parquet").sort("id")
    cut_rows = scores.unnest("cut")
    assert cut_rows["truncated"].to_list() == [True, False, False]
    dropped = cut_rows["truncated_tokens"][0]
    assert dropped > 0 and cut_rows["unscored_reason"].null_count() == 3
    assert context["cut"] == {
        "rows_too_long": 0,
        "items_too_long": 0,
        "truncated_rows": 1,
        "truncated_tokens": dropped,
    }
    assert context["whole"] == {"rows_too_long": 1, "items_too_long": 2}
    assert "truncated" not in scores.unnest("whole").columns


def test_a_judge_whose_kv_cache_cannot_hold_max_model_len_stops_the_job_with_one_line(
    tmp_path: Path, ray_cluster: None, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The judge actors' environment: VLLM_CPU_KVCACHE_SPACE set (the judge's 1 GiB default
    # stays off) but empty, so vLLM's CPU platform keeps kv_cache_memory_bytes.
    monkeypatch.setattr("pipeline.attempt.judge_env", lambda plan: {"VLLM_CPU_KVCACHE_SPACE": ""})
    data = tmp_path / "short.parquet"
    pq.write_table(pa.table({"id": ["a"], "prompt": ["Say it."], "response": ["Ok."]}), data)
    spec = {
        "name": "small-cache",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(tmp_path / "run")},
        "judge": {
            "model": str(tiny_model),
            "engine_kwargs": {**ENGINE, "kv_cache_memory_bytes": 256 << 10},
        },
        "definition": {"scorers": [scorer("quality")]},
    }
    with pytest.raises(EngineDoesNotFit) as refused:
        run_job(parse_spec(spec))
    message = str(refused.value)
    assert "engine_kwargs.max_model_len 1024 does not fit the engine's KV cache" in message
    assert "\n" not in message
