"""`rayscore plan`: the prefix cache arithmetic on hand-made token ids, the sampled requests'
token ids against the judge's own encoding (the small model's real tokenizer, no engine), and
the command on the demo spec without a probe; with a probe, through real Ray and the real
vLLM CPU engine."""

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
import yaml

from jobs.cli import main
from pipeline.forecast.judge_tokens import (
    Tokenization,
    block_size_of,
    device_of,
    tokenization_of,
)
from pipeline.forecast.predict import predict
from pipeline.forecast.prefix_cache import computed_prompt_tokens
from pipeline.forecast.probe import Probe
from pipeline.forecast.sample_tokens import sample_tokens
from pipeline.plan import plan_of
from pipeline.spec_loader import parse_spec
from scorers.judge.prompt_tokens import encode_prompts
from scorers.judge.spec import JudgeSpec

ROOT = Path(__file__).resolve().parents[1]


def test_a_request_reuses_the_whole_blocks_an_earlier_one_filled():
    first = list(range(100))
    second = [*range(70), 900, 901, 902]  # shares 70 tokens: two blocks of 32
    assert computed_prompt_tokens([first, second], 32) == 100 + 73 - 64
    assert computed_prompt_tokens([first, second], 16) == 100 + 73 - 64  # 4 blocks of 16
    assert computed_prompt_tokens([first, second], 64) == 100 + 73 - 64
    assert computed_prompt_tokens([first, second], 128) == 100 + 73  # no whole block shared


def test_a_repeated_request_still_computes_its_last_block():
    ids = list(range(64))
    # the engine must compute one position to answer: the second copy reuses one block of 2
    assert computed_prompt_tokens([ids, ids], 32) == 64 + 32
    assert computed_prompt_tokens([ids, list(ids)], 8) == 64 + 8


def test_a_probe_scales_its_judging_rate_to_every_judgment_on_every_actor():
    manifest = {
        "timings_s": {"wall": 20.0, "score": 10.0},
        "judge": {"requests": 100, "timings_s": {"big": {"engine_start_s": 5.0, "judging_s": 2.0}}},
    }
    judge = JudgeSpec(model="m", concurrency=2, num_gpus=1, price_per_hour=3.0)
    predicted = predict(Probe(25, manifest), {"big": judge}, {"big": 100}, {"big": 1000})

    big = predicted["judges"]["big"]
    assert big["judgments_per_s_per_actor"] == 25.0  # 100 in 2 s on 2 actors
    assert big["judging_s"] == 20.0  # 1,000 at 25/s on each of 2 actors
    assert predicted["wall_s"] == 20.0 - 2.0 + 20.0  # the probe's overhead, then the judging
    actor_hours = 2 * (10.0 - 2.0 + 20.0) / 3600  # both actors, the whole judge stage
    assert big["device_hours_kind"] == "gpu"
    assert big["device_hours"] == pytest.approx(actor_hours, abs=1e-4)
    assert predicted["cost"] == pytest.approx(actor_hours * 3.0, abs=1e-4)


def demo_spec(data: Path, model: Path, **judge: object) -> dict:
    spec = yaml.safe_load((ROOT / "jobs" / "examples" / "demo.yaml").read_text())
    spec["input"]["path"] = str(data)
    spec["judge"] = {**spec["judge"], "model": str(model), **judge}
    return spec


def tokenization(model: Path, **judge: object) -> Tokenization:
    spec = parse_spec(demo_spec(Path("unused.parquet"), model, **judge))
    return tokenization_of(spec.judge)


def test_sampled_requests_are_the_ids_the_judge_sends(tiny_model, demo_parquet):
    spec = parse_spec(demo_spec(demo_parquet, tiny_model))
    scorers = plan_of(spec).judged
    table = pa.Table.from_pylist(pl.read_parquet(demo_parquet).head(3).to_dicts())
    plain = tokenization(tiny_model)
    sample = sample_tokens(scorers, table, plain, batch_size=64)

    from transformers import AutoTokenizer

    from scorers.registry import judged_scorer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    prompts = judged_scorer(scorers[0]).prepare(table).prompts
    assert sample.requests == encode_prompts(tokenizer, prompts, True)  # VllmJudge.encode's
    assert sample.requests_per_row.tolist() == [4, 4, 4]
    assert sample.prompt_tokens == sum(len(ids) for ids in sample.requests)
    assert sample.longest_prompt_per_row.tolist() == [
        max(len(ids) for ids in sample.requests[row * 4 : row * 4 + 4]) for row in range(3)
    ]


def test_with_padding_a_sample_computes_its_shared_prefix_once(tiny_model, demo_parquet):
    spec = parse_spec(demo_spec(demo_parquet, tiny_model))
    table = pa.Table.from_pylist(pl.read_parquet(demo_parquet).head(1).to_dicts())
    padded = tokenization(tiny_model, prefix_padding=True)
    sample = sample_tokens(plan_of(spec).judged, table, padded, batch_size=64)
    first, *rest = sample.requests
    shared = next(
        n for n, ids in enumerate(zip(*sample.requests, strict=False)) if len(set(ids)) > 1
    )
    assert shared % 32 == 0  # padded to whole blocks of the spec's block_size
    assert sample.computed_tokens(32) == len(first) + sum(len(ids) - shared for ids in rest)


def write_spec(tmp_path: Path, spec: dict) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    return str(path)


def test_plan_on_the_demo_spec_counts_and_names_the_cheapest_change(
    tmp_path, capsys, tiny_model, demo_parquet
):
    spec = demo_spec(demo_parquet, tiny_model)
    spec["judge"]["engine_kwargs"]["block_size"] = 128  # vLLM's own on CPU
    figures_file = tmp_path / "plan.json"
    argv = ["plan", write_spec(tmp_path, spec), "--sample", "10", "--json", str(figures_file)]
    assert main(argv) == 0

    out = capsys.readouterr().out
    figures = json.loads(figures_file.read_text())
    rows = pl.read_parquet(demo_parquet)
    scorable = rows.filter(pl.col("prompt").is_not_null() & pl.col("response").is_not_null())
    assert figures["rows"] == rows.height and figures["sampled_rows"] == 10
    assert figures["judgments"] == 4 * scorable.height  # four items per scorable row
    judge = figures["judges"]["judge"]
    assert judge["block_size"] == 128 and judge["max_model_len"] == 1024
    assert judge["rows_over_context"] == {"sampled": 0, "predicted": 0, "examples": []}
    assert 0 < judge["computed_prompt_tokens"] <= judge["prompt_tokens"]
    assert figures["probe"] is None
    cheapest = figures["changes"][0]
    assert cheapest["setting"] == "engine_kwargs.block_size" and cheapest["fewer_tokens"] > 1.1
    assert f"cheapest change that matters: {cheapest['message']}" in out
    assert "block_size 32 would compute" in cheapest["message"]
    assert "served from the prefix cache" in out


def test_the_block_size_is_the_specs_else_its_devices_default():
    cpu = parse_spec(demo_spec(Path("d.parquet"), Path("m"))).judge
    assert block_size_of(cpu) == 32
    del cpu.engine_kwargs["block_size"]
    assert block_size_of(cpu) == 32  # the CPU build's default (device_defaults)
    gpu = parse_spec(demo_spec(Path("d.parquet"), Path("m"), num_gpus=1, engine_kwargs={})).judge
    assert device_of(gpu) == "gpu" and block_size_of(gpu) == 16  # vLLM's own on GPU


def test_rows_over_the_context_are_named_first(tmp_path, tiny_model, demo_parquet):
    spec = demo_spec(demo_parquet, tiny_model)
    spec["judge"]["engine_kwargs"]["max_model_len"] = 64
    figures_file = tmp_path / "plan.json"
    assert main(["plan", write_spec(tmp_path, spec), "--json", str(figures_file)]) == 0
    figures = json.loads(figures_file.read_text())
    over = figures["judges"]["judge"]["rows_over_context"]
    assert figures["sampled_rows"] == figures["rows"]  # the sample is every row
    assert over["sampled"] == figures["judgments"] // 4  # every row the judge is asked about
    assert len(over["examples"]) == 5
    assert figures["changes"][0]["setting"] == "engine_kwargs.max_model_len"
    assert "set engine_kwargs.max_model_len to" in figures["changes"][0]["message"]


def test_bad_requests_are_refused_in_one_line(tmp_path, capsys, tiny_model, demo_parquet):
    spec = write_spec(tmp_path, demo_spec(demo_parquet, tiny_model))
    assert main(["plan", spec, "--probe", "0"]) == 2
    assert capsys.readouterr().err == "rayscore: --probe takes 1 row or more, got 0\n"
    remote = demo_spec(demo_parquet, tiny_model)
    remote["judge"] = {"backend": "openai", "model": "m", "base_url": "http://localhost:1/v1"}
    assert main(["plan", write_spec(tmp_path, remote)]) == 2
    assert "rayscore plan forecasts judges with backend 'vllm'" in capsys.readouterr().err


@pytest.mark.ray
@pytest.mark.engine
def test_a_probe_predicts_the_requests_of_a_real_run(
    tmp_path, capsys, ray_cluster, tiny_model, demo_parquet
):
    spec = demo_spec(demo_parquet, tiny_model, price_per_hour=2.0)
    figures_file = tmp_path / "plan.json"
    argv = ["plan", write_spec(tmp_path, spec), "--probe", "20", "--json", str(figures_file)]
    assert main(argv) == 0

    figures = json.loads(figures_file.read_text())
    probe = figures["probe"]
    assert probe["rows"] == 20
    assert probe["requests"] == probe["requests_forecast"] > 0  # the real run's, exactly
    # the engine's own cache counts agree with the forecast's block arithmetic
    forecast_share = figures["judges"]["judge"]["prefix_cache_share"]
    assert abs(probe["prefix_cache_share"] - forecast_share) < 0.05
    predicted = probe["predicted"]
    judge = predicted["judges"]["judge"]
    assert judge["judgments_per_s_per_actor"] > 0 and judge["engine_start_s"] > 0
    assert judge["device_hours_kind"] == "cpu" and judge["device_hours"] > 0
    assert predicted["wall_s"] > 0
    # one actor on one CPU: its CPU-hours are the actor's hours, each at price_per_hour
    # both given to 4 decimals: the hours rounded, then doubled, may be 1e-4 off the cost
    assert predicted["cost"] == pytest.approx(judge["device_hours"] * 2.0, rel=0.01, abs=2e-4)
    assert "predicted wall time" in capsys.readouterr().out
    assert not (tmp_path / "runs").exists()
