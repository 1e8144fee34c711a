"""A whole job with judge.backend openai, through real Ray, against the FAKE local server."""

import json
import math
import re
from pathlib import Path
from typing import Any

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


def _batch_answers(prompt: str) -> str:
    """A hosted judge's batch answer: fenced JSON, reasoning, "Yes" capitalised."""
    count = len(re.findall(r"^Q\d+:", prompt, flags=re.MULTILINE))
    answer = "Yes" if "GOOD" in prompt else "no"
    entries = [
        {"question_index": i, "answer": answer, "reasoning": f"item {i}"}
        for i in range(1, count + 1)
    ]
    return "```json\n" + json.dumps({"answers": entries}) + "\n```"


def _item_answer(prompt: str) -> str:
    return "Yes." if "GOOD" in prompt else "No, it is not."


def _no_logprobs_job(data: str, out: str, url: str) -> dict[str, Any]:
    spec = fake_judge_job(data, out, url, max_retries=1)
    two = [{"question": "Is it good?"}, {"question": "Is it kind?"}]
    spec["definition"]["scorers"] = [
        {"type": "checklist", "key": "item", "target_column": "response", "checklist": two},
        {
            "type": "checklist",
            "key": "batch",
            "mode": "batch",
            "capture_reasoning": True,
            "target_column": "response",
            "checklist": two,
        },
        {"type": "boolean", "key": "ok", "question": "Is it good?", "target_column": "response"},
    ]
    return spec


def _responses(tmp_path: Path) -> str:
    data = tmp_path / "in.parquet"
    ids = [f"r{i}" for i in range(6)]
    responses = ["GOOD answer" if i % 2 else "bad answer" for i in range(6)]
    pq.write_table(pa.table({"id": ids, "response": responses}), data)
    return str(data)


def test_a_judge_without_logprobs_scores_a_whole_job_from_text(tmp_path, ray_cluster):
    """The seed's fallback to binary yes/no for a whole job: item mode reads the answer
    text, batch mode with reasoning parses fenced JSON, nothing fails, nothing has a
    confidence, and the run says so once."""
    with FakeOpenAIServer() as server:
        server.on(
            Reply(
                logprobs=False,
                answer_for=lambda p: _batch_answers(p) if "Q1:" in p else _item_answer(p),
            )
        )
        spec = _no_logprobs_job(_responses(tmp_path), str(tmp_path / "run"), server.url)
        result = run_job(parse_spec(spec))
    rows = pl.read_parquet(f"{result.run_dir}/scores/*.parquet").sort("id").to_dicts()
    assert len(rows) == 6 and all(r["error"] is None for r in rows)
    for row in rows:
        good = int(row["id"][1:]) % 2 == 1  # odd rows are GOOD
        for key in ("item", "batch"):
            score = row[key]
            assert [i["answer"] for i in score["item_scores"]] == ["yes" if good else "no"] * 2
            assert all(i["confidence"] is None for i in score["item_scores"])
            assert score["normalized_score"] == score["pass_rate"] == float(good)
        assert [i["reasoning"] for i in row["batch"]["item_scores"]] == ["item 1", "item 2"]
        assert row["ok"]["value"] is good and row["ok"]["confidence"] is None
    judge = result.manifest["judge"]
    assert judge["requests_without_logprobs"] == judge["requests"] == 6 * (2 + 1 + 1)
    assert "answers read from text" in judge["endpoints"]["judge"]


def test_a_provider_refusing_response_format_gets_the_schema_in_the_prompt(tmp_path, ray_cluster):
    with FakeOpenAIServer() as server:
        server.on(Reply(refuse_response_format=True, logprobs=False, answer_for=_batch_answers))
        spec = _no_logprobs_job(_responses(tmp_path), str(tmp_path / "run"), server.url)
        spec["definition"]["scorers"] = spec["definition"]["scorers"][1:2]
        result = run_job(parse_spec(spec))
        prompted = [b for b in server.bodies("/v1/completions") if "JSON schema" in b["prompt"]]
    rows = pl.read_parquet(f"{result.run_dir}/scores/*.parquet").to_dicts()
    assert all(r["error"] is None and r["batch"]["pass_rate"] is not None for r in rows)
    assert len(prompted) == 6
