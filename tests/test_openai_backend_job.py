"""A whole job with judge.backend openai, through real Ray, against the FAKE local server."""

import math

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_openai_server import TOKEN_LOGPROBS, FakeOpenAIServer, Reply, fake_judge_job

from pipeline.runner import run_job
from pipeline.spec_loader import parse_spec

pytestmark = pytest.mark.ray


def test_openai_backend_job_scores_fails_alone_and_falls_back_to_text(
    tmp_path, ray_cluster, monkeypatch
):
    monkeypatch.setenv("FAKE_JUDGE_KEY", "sk-secret-value")
    data = tmp_path / "in.parquet"
    pq.write_table(
        pa.table(
            {"id": ["ok", "broken", "textonly"], "response": ["fine", "FAILME", "NOLOGPROBS"]}
        ),
        data,
    )
    with FakeOpenAIServer() as server:
        server.on(Reply(match="FAILME", status=500))
        server.on(Reply(match="NOLOGPROBS", logprobs=False, answer="No"))
        spec = fake_judge_job(
            str(data),
            str(tmp_path / "run"),
            server.url,
            api_key_env="FAKE_JUDGE_KEY",
            max_retries=1,
        )
        result = run_job(parse_spec(spec))
    scores = {r["id"]: r for r in pl.read_parquet(f"{result.run_dir}/scores/*.parquet").to_dicts()}
    p = {t: math.exp(lp) for t, lp in TOKEN_LOGPROBS.items()}
    p_yes, p_no = p[10] + p[11] + p[12] + p[13], p[20] + p[21] + p[22]
    ok = scores["ok"]["q"]["item_scores"][0]
    assert ok["confidence"] == pytest.approx(p_yes / (p_yes + p_no))
    assert scores["ok"]["error"] is None
    assert "HTTP 500" in scores["broken"]["error"]
    text = scores["textonly"]["q"]
    assert text["item_scores"][0]["answer"] == "no" and text["item_scores"][0]["confidence"] is None
    assert text["normalized_score"] == text["pass_rate"] == 0.0
    manifest = (tmp_path / "run" / "manifest.json").read_text()
    assert "sk-secret-value" not in manifest and "FAKE_JUDGE_KEY" in manifest
