"""A scorer kind added from outside the package: registered once, run through a whole job.

Two small kinds are defined here, as a user would write them: a judged one (one yes/no
question per sample, read from the real engine) and a grouped cross-sample one (rows per
response length bucket, a Ray Data group-by). Neither is known to `pipeline/`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar, Literal

import polars as pl
import pyarrow as pa
import pytest
from conftest import NO_LABEL_FLOOR

from pipeline.runner import run_job
from pipeline.spec import job_spec_json_schema
from pipeline.spec_loader import SpecError, parse_spec
from scorers.columns import InputColumn, columns_named
from scorers.cross_sample.steps import SharedGroups
from scorers.judge.labels import YES_NO
from scorers.judge.result import JudgeResult
from scorers.judged import PreparedBatch, ScoredBatch
from scorers.registry import GroupedKind, JudgedKind, kinds, register, unregister
from scorers.scorer_spec import ScorerSpec
from scorers.usage import USAGE_TYPE, usage_of

# A judged kind's struct carries `usage`, so the manifest counts its judge requests.
SHOUT_TYPE = pa.struct([("p_yes", pa.float64()), ("usage", USAGE_TYPE)])
BUCKET_TYPE = pa.struct([("rows_in_bucket", pa.int64())])


class ShoutingSpec(ScorerSpec):
    type: Literal["shouting"]
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = ("p_yes",)
    column: str

    def input_columns(self) -> list[InputColumn]:
        return columns_named((self.column, "text", "column"))

    def output_type(self) -> pa.DataType:
        return SHOUT_TYPE


class ShoutingScorer:
    def __init__(self, spec: ShoutingSpec) -> None:
        self.spec = spec
        self.key = spec.key

    def prepare(self, table: pa.Table) -> PreparedBatch:
        texts = table[self.spec.column].to_pylist()
        prompts = [f"Response: {t or ''}\nIs the response shouting? Answer:" for t in texts]
        return PreparedBatch(prompts=prompts, label_set=YES_NO, plan=None)

    def finish(self, prepared: PreparedBatch, results: Sequence[JudgeResult]) -> ScoredBatch:
        scores = [
            {"p_yes": r.probs[0] if r.probs else None, "usage": usage_of([r])} for r in results
        ]
        return ScoredBatch(pa.array(scores, SHOUT_TYPE), [r.error for r in results])


class LengthBucketSpec(ScorerSpec):
    type: Literal["length_bucket"]
    SCORE_FIELDS: ClassVar[tuple[str, ...] | None] = ("rows_in_bucket",)
    column: str
    width: int = 20

    def input_columns(self) -> list[InputColumn]:
        return columns_named((self.column, "text", "column"))

    def output_type(self) -> pa.DataType:
        return BUCKET_TYPE


class LengthBucketScorer:
    group_on = ("bucket",)
    output_type = BUCKET_TYPE
    combine = None

    def __init__(self, spec: LengthBucketSpec) -> None:
        self.spec = spec
        self.key = spec.key
        self.read_columns = (spec.column,)
        self.default = {"rows_in_bucket": 1}

    def map_block(self, batch: pa.Table, id_col: str) -> pa.Table:
        lengths = [len(t or "") // self.spec.width for t in batch[self.spec.column].to_pylist()]
        return pa.table({id_col: batch[id_col], "bucket": pa.array(lengths, pa.int64())})

    def finish_block(self, keyed: pa.Table, shared: SharedGroups, id_col: str) -> pa.Table:
        counts = [shared.get((b,), (None, 1))[1] for b in keyed["bucket"].to_pylist()]
        rows = [{"rows_in_bucket": n} for n in counts]
        return pa.table({id_col: keyed[id_col], self.key: pa.array(rows, BUCKET_TYPE)})


SHOUTING = JudgedKind(ShoutingSpec, ShoutingScorer)
LENGTH_BUCKET = GroupedKind(LengthBucketSpec, LengthBucketScorer)


@pytest.fixture(scope="module")
def registered() -> Iterator[None]:
    import ray.cloudpickle

    # Judge actors import nothing from this test file: its classes travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    register(SHOUTING)
    register(LENGTH_BUCKET)
    yield
    unregister("shouting")
    unregister("length_bucket")


def job(tmp_path: Path, model: Path, data: Path) -> dict:
    return {
        "name": "custom-kinds",
        "input": {"path": str(data), "id_column": "id"},
        "output": {"path": str(tmp_path / "run")},
        "judge": {
            "model": str(model),
            "engine_kwargs": {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True},
            "batch_size": 16,
            **NO_LABEL_FLOOR,
        },
        "definition": {
            "scorers": [
                {
                    "type": "shouting",
                    "key": "shout",
                    "column": "response",
                    "metrics": [{"type": "mean", "field": "p_yes"}],
                },
                {"type": "length_bucket", "key": "lengths", "column": "prompt", "width": 20},
            ]
        },
    }


def test_a_registered_kind_is_validated_by_its_own_spec_class(registered, tmp_path):
    raw = job(tmp_path, tmp_path, tmp_path)
    raw["definition"]["scorers"][0]["colum"] = "response"
    with pytest.raises(SpecError, match=r"definition\.scorers\.0\.colum: unknown key"):
        parse_spec(raw)
    assert {"shouting", "length_bucket", "checklist"} <= set(kinds())
    schema = job_spec_json_schema()["$defs"]["Definition"]["properties"]["scorers"]["items"]
    assert schema["discriminator"]["mapping"]["shouting"] == "#/$defs/ShoutingSpec"
    with pytest.raises(ValueError, match="already registered"):
        register(JudgedKind(LengthBucketSpec, ShoutingScorer))


@pytest.mark.ray
@pytest.mark.engine
def test_registered_kinds_run_through_a_whole_job(
    registered, tmp_path, ray_cluster, tiny_model, demo_parquet
):
    spec = parse_spec(job(tmp_path, tiny_model, demo_parquet))
    result = run_job(spec)

    scores = pl.read_parquet(f"{result.run_dir}/scores/*.parquet")
    source = pl.read_parquet(demo_parquet)
    assert sorted(scores["id"]) == sorted(source["id"])
    judged = scores.filter(pl.col("shout").struct.field("p_yes").is_not_null())
    assert judged.height == source.height  # this kind asks about null responses too
    assert judged.select(pl.col("shout").struct.field("p_yes").is_between(0, 1).all()).item()
    assert result.manifest["judge"]["requests"] == source.height
    mean = judged["shout"].struct.field("p_yes").mean()
    assert result.metrics["mean_p_yes"]["value"] == pytest.approx(mean)

    expected = source.select(
        "id", (pl.col("prompt").fill_null("").str.len_chars() // 20).alias("bucket")
    ).with_columns(pl.len().over("bucket").alias("expected"))
    got = scores.select("id", pl.col("lengths").struct.field("rows_in_bucket")).join(
        expected, on="id"
    )
    assert (got["rows_in_bucket"] == got["expected"]).all()
