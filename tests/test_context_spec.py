"""The context policy at load, before Ray or any engine: `truncate` in a scorer's spec, the
judge's max_model_len against its model's config, the warning for an unset one on a GPU."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pipeline.resolve import resolve_spec_paths
from pipeline.spec_loader import SpecError, parse_spec
from scorers.judge.engine_fit import (
    EngineDoesNotFit,
    engine_does_not_fit,
    max_model_len_errors,
    reported_in,
)
from scorers.judge.model_context import model_context

CHECKLIST = {
    "type": "checklist",
    "key": "quality",
    "input_column": "prompt",
    "target_column": "response",
    "checklist": [{"question": "Is it right?"}],
}
# vLLM 0.32's words (vllm/v1/core/kv_cache_utils.py, _check_enough_kv_cache_memory)
KV_CACHE_REFUSAL = (
    "To serve at least one request with the model's max seq len (4096), (0.5 GiB KV cache is "
    "needed, which is larger than the available KV cache memory (0.12 GiB). Based on the "
    "available memory, the estimated maximum model length is 1008. Try increasing "
    "`gpu_memory_utilization` (which also controls CPU memory on the CPU backend) or "
    "decreasing `max_model_len` when initializing the engine. See "
    "https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details."
)


def job(scorers: list[dict[str, Any]], **judge: Any) -> dict[str, Any]:
    return {
        "name": "context",
        "input": {"path": "in.parquet", "id_column": "id"},
        "output": {"path": "out"},
        "judge": {"model": "models/m", **judge},
        "definition": {"scorers": scorers},
    }


def with_truncate(**truncate: Any) -> dict[str, Any]:
    return {**CHECKLIST, "truncate": {"column": "response", "max_tokens": 100, **truncate}}


def model_folder(tmp_path: Path, **config: Any) -> Path:
    folder = tmp_path / "models" / "m"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_truncate_adds_the_flag_and_token_count_to_the_scorers_struct():
    spec = parse_spec(job([with_truncate(side="left")]))
    scorer = spec.definition.scorers[0]
    assert scorer.truncate is not None and scorer.truncate.side == "left"
    names = scorer.output_type().names
    assert names[-2:] == ["truncated", "truncated_tokens"]
    assert "truncated" not in scorer.field_configs(scorer.output_type())  # not a score


def test_a_spec_without_truncate_dumps_and_types_as_before():
    scorer = parse_spec(job([CHECKLIST])).definition.scorers[0]
    assert "truncate" not in scorer.model_dump(mode="json")
    assert "truncated" not in scorer.output_type().names


@pytest.mark.parametrize("kind", ["likert", "categorical", "boolean"])
def test_every_rating_kind_takes_truncate(kind):
    extra = {"labels": ["a", "b"]} if kind == "categorical" else {}
    raw = {"type": kind, "key": "r", "question": "Good?", "target_column": "response", **extra}
    raw["truncate"] = {"column": "response", "max_tokens": 50, "side": "middle"}
    assert "truncated" in parse_spec(job([raw])).definition.scorers[0].output_type().names


def test_truncate_names_a_text_column_the_scorer_reads():
    expected = r"truncate.column: 'answer' is not a text column this scorer reads \(it reads: "
    with pytest.raises(SpecError, match=expected + r"prompt, response\)"):
        parse_spec(job([with_truncate(column="answer")]))


def test_middle_needs_room_for_a_start_the_marker_and_an_end():
    with pytest.raises(SpecError, match="side 'middle' keeps a start"):
        parse_spec(job([with_truncate(side="middle", max_tokens=4)]))


def test_a_scorer_that_asks_no_judge_cannot_truncate():
    raw = {"type": "uniqueness", "key": "u", "column": "response"}
    raw["truncate"] = {"column": "response", "max_tokens": 10}
    with pytest.raises(SpecError, match=r"truncate is for judged scorers .* 'uniqueness' has none"):
        parse_spec(job([raw]))


def test_an_openai_judge_cannot_truncate_it_has_no_tokenizer_in_the_job():
    raw = job([with_truncate()], backend="openai", base_url="http://127.0.0.1:1/v1")
    expected = "scorer 'quality': truncate counts tokens with the judge's own tokenizer, and "
    with pytest.raises(SpecError, match=expected + r"judge 'judge' \(backend openai\)"):
        parse_spec(raw)


def test_max_model_len_over_the_models_own_is_refused_naming_the_key_and_what_fits(tmp_path):
    model_folder(tmp_path, max_position_embeddings=4096)
    spec = parse_spec(job([CHECKLIST], engine_kwargs={"max_model_len": 8192}))
    with pytest.raises(ValueError) as err:
        resolve_spec_paths(spec, tmp_path)
    message = str(err.value)
    assert message.startswith("judge.engine_kwargs.max_model_len: 8192 is more than the model's")
    assert "max_position_embeddings=4096" in message and message.endswith("set 4096 or less")


def test_a_named_judge_is_named_in_the_refusal(tmp_path):
    model_folder(tmp_path, max_position_embeddings=2048)
    raw = job([{**CHECKLIST, "judge": "small"}])
    del raw["judge"]
    raw["judges"] = {"small": {"model": "models/m", "engine_kwargs": {"max_model_len": 4096}}}
    with pytest.raises(ValueError, match=r"^judges.small.engine_kwargs.max_model_len: 4096"):
        resolve_spec_paths(parse_spec(raw), tmp_path)


def test_max_model_len_within_the_models_own_passes(tmp_path):
    model_folder(tmp_path, max_position_embeddings=4096)
    spec = parse_spec(job([CHECKLIST], engine_kwargs={"max_model_len": 4096}))
    assert resolve_spec_paths(spec, tmp_path).judge is not None


def test_the_models_own_length_is_read_as_vllm_derives_it(tmp_path):
    scaled = {"max_position_embeddings": 4096, "rope_scaling": {"type": "linear", "factor": 4}}
    assert model_context(model_folder(tmp_path / "a", **scaled)).tokens == 16384
    llama3 = {
        "max_position_embeddings": 131072,
        "rope_scaling": {"rope_type": "llama3", "factor": 8},
    }
    assert model_context(model_folder(tmp_path / "b", **llama3)).tokens == 131072
    two_keys = {"max_position_embeddings": 8192, "seq_length": 2048}
    assert model_context(model_folder(tmp_path / "c", **two_keys)).tokens == 2048
    assert model_context(model_folder(tmp_path / "d", hidden_size=8)) is None


def test_an_unset_max_model_len_on_a_gpu_judge_over_32k_is_warned_once(tmp_path, caplog):
    model_folder(tmp_path, max_position_embeddings=131072)
    with caplog.at_level(logging.WARNING):
        resolve_spec_paths(parse_spec(job([CHECKLIST], num_gpus=1)), tmp_path)
        resolve_spec_paths(parse_spec(job([CHECKLIST])), tmp_path)  # CPU: no warning
        spec = job([CHECKLIST], num_gpus=1, engine_kwargs={"max_model_len": 8192})
        resolve_spec_paths(parse_spec(spec), tmp_path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "judge.engine_kwargs.max_model_len is unset" in warnings[0]
    assert "131072 tokens" in warnings[0]


def test_the_kv_cache_refusal_names_the_key_and_the_length_that_fits():
    error = engine_does_not_fit(ValueError(KV_CACHE_REFUSAL), "org/judge", given=True)
    assert isinstance(error, EngineDoesNotFit)
    assert str(error).startswith(
        "judge 'org/judge': engine_kwargs.max_model_len 4096 does not fit the engine's KV cache "
        "(0.5 GiB needed for one request, 0.12 GiB there): set it to 1008 or less"
    )


def test_the_refusal_is_found_in_the_exception_the_engine_raised_from():
    try:
        try:
            raise ValueError(KV_CACHE_REFUSAL)
        except ValueError as inner:
            raise RuntimeError("Engine core initialization failed") from inner
    except RuntimeError as outer:
        error = engine_does_not_fit(outer, "m", given=False)
    assert error is not None and "4096 (unset: the model's own)" in str(error)


def test_the_models_maximum_refusal_is_reworded_and_other_errors_pass_through():
    over = ValueError(
        "User-specified max_model_len (8192) is greater than the derived max_model_len "
        "(max_position_embeddings=4096.0 or model_max_length=None in model's config.json)."
    )
    expected = r"8192 is more than the model's own maximum \(max_position_embeddings=4096\): "
    fits = max_model_len_errors("m", {"max_model_len": 8192})
    with pytest.raises(EngineDoesNotFit, match=expected + "set it to 4096 or less"), fits:
        raise over
    with pytest.raises(OSError, match="disk"), max_model_len_errors("m", {}):
        raise OSError("disk")


def test_an_actors_refusal_is_read_back_from_the_error_ray_reports():
    actor_died = RuntimeError(
        "The actor died because of an error raised in its creation task, ray::MapWorker.__init__"
        '() (pid=1)\n  File "vllm_judge.py", line 60, in __init__\n'
        "scorers.judge.engine_fit.EngineDoesNotFit: judge 'm': engine_kwargs.max_model_len 4096 "
        "does not fit the engine's KV cache (...): set it to 256 or less, or give the cache more "
        "memory\n"
    )
    reported = reported_in(actor_died)
    assert isinstance(reported, EngineDoesNotFit)
    assert str(reported).startswith("judge 'm': engine_kwargs.max_model_len 4096 does not fit")
    assert str(reported).endswith("give the cache more memory")
    assert reported_in(RuntimeError("The actor died: out of memory")) is None
