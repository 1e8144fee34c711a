"""One job with every scorer type, through real Ray Data and the real vLLM CPU engine."""

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import NO_LABEL_FLOOR

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

pytestmark = [pytest.mark.ray, pytest.mark.engine]

ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "block_size": 32}
BASE = {"input_column": "prompt", "target_column": "response"}
MEAN_BY_MODEL = {"type": "mean", "field": "score", "group_by": ["model"], "name": "helpfulness"}
SCORER_KEYS = ["quality", "batch", "text", "help", "tone", "right", "seen", "uniq", "near"]
ECHO = (
    "def compute_scores(samples):\n"
    "    return [{'judged': s['quality'] is not None and s['quality']['pass_rate'] is not None}\n"
    "            for s in samples]\n"
)


def test_every_scorer_type_in_one_job(tmp_path, ray_cluster, tiny_model, demo_parquet):
    spec = {
        "name": "all-modes",
        "input": {"path": str(demo_parquet), "id_column": "id", "passthrough_columns": ["model"]},
        "output": {"path": str(tmp_path / "run")},
        "judge": {
            "model": str(tiny_model),
            "engine_kwargs": ENGINE,
            "batch_size": 16,
            **NO_LABEL_FLOOR,
        },
        "definition": {
            "scorers": [
                {"type": "checklist", "key": "quality", "checklist_column": "checklist", **BASE},
                {
                    "type": "checklist",
                    "key": "batch",
                    "mode": "batch",
                    "capture_reasoning": True,
                    "reasoning_max_chars": 40,
                    "checklist_column": "checklist",
                    "history_column": "history",
                    **BASE,
                },
                {
                    "type": "checklist",
                    "key": "text",
                    "use_logprobs": False,
                    "checklist_column": "checklist",
                    **BASE,
                },
                {
                    "type": "likert",
                    "key": "help",
                    "question": "How helpful?",
                    **BASE,
                    "metrics": [MEAN_BY_MODEL],
                },
                {
                    "type": "categorical",
                    "key": "tone",
                    "question": "Tone?",
                    "labels": ["calm", "rude"],
                    **BASE,
                    "metrics": [{"type": "frequency", "field": "label", "name": "tones"}],
                },
                {
                    "type": "boolean",
                    "key": "right",
                    "question": "Is it right?",
                    **BASE,
                    "metrics": [
                        {
                            "type": "f1",
                            "field": "value",
                            "label_column": "human_verdict",
                            "name": "f1 vs human",
                        }
                    ],
                },
                {
                    "type": "python_all_samples",
                    "key": "seen",
                    "compute_scores_snippet": ECHO,
                    "columns": ["quality"],
                },
                {"type": "uniqueness", "key": "uniq", "column": "response"},
                {"type": "near_duplicates", "key": "near", "column": "response"},
            ]
        },
    }
    result = run_job(parse_spec(spec))
    run = Path(result.run_dir)
    scores = pl.read_parquet(run / "scores" / "*.parquet")
    assert scores.height == 40 and scores["id"].n_unique() == 40
    assert {
        *SCORER_KEYS,
        "human_verdict",
        "model",
        "error",
    } <= set(scores.columns)
    ok = scores.filter(pl.col("error").is_null())
    assert ok.height == 38  # the two rows with a null response
    assert (
        ok["batch"]
        .struct.field("item_scores")
        .list.eval(pl.element().struct.field("reasoning").is_not_null())
        .list.all()
        .all()
    )
    assert (ok["seen"].struct.field("judged")).all()
    text_items = ok.select(pl.col("text").struct.field("item_scores")).explode("item_scores")
    text_items = text_items.unnest("item_scores")
    assert text_items["answer"].is_in(["yes", "no"]).all()
    assert text_items["confidence"].is_null().all()
    text_scores = ok["text"].struct.unnest()
    assert (text_scores["normalized_score"] == text_scores["pass_rate"]).all()
    assert result.manifest["judge"]["cached_prompt_tokens"] > 0

    metrics = pl.read_parquet(run / "metrics.parquet")
    helpfulness = metrics.filter(pl.col("metric") == "helpfulness")
    assert helpfulness.height == 1 + scores["model"].n_unique()  # overall + one row per model
    by_model = ok.group_by("model").agg(pl.col("help").struct.field("score").mean().alias("m"))
    for row in by_model.iter_rows(named=True):
        group = json.dumps({"model": row["model"]})
        got = helpfulness.filter(pl.col("group") == group)["value"][0]
        assert got == pytest.approx(row["m"], rel=1e-9)
    assert json.loads((run / "metrics.json").read_text())["tones"]["count"] == 38

    records = pl.read_parquet(run / "scores_long" / "*.parquet")
    assert set(records["scorer_key"]) == set(SCORER_KEYS)
    assert set(records["data_type"]) == {"NUMERIC", "BOOLEAN", "CATEGORICAL"}
    reasoned = records.filter(
        (pl.col("scorer_key") == "batch") & pl.col("name").str.starts_with("batch.item_")
    )
    assert reasoned["comment"].is_not_null().any()
